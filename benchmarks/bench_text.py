"""Benchmark: feedback text enrichment (scrub, language, sentiment, keywords) for English and Portuguese texts.

Not a test: it prints figures. Example:

    .venv/bin/python benchmarks/bench_text.py                  # 100,000 texts, all CPUs
    .venv/bin/python benchmarks/bench_text.py --texts 20000 --workers 1

1. Generates ``--texts`` distinct feedback texts from seeded random templates: half English, half Portuguese, one to
   six sentences (a third short, a few words), 10% carrying an e-mail, phone, card or CPF, some with newlines.
2. Times :func:`loop.text.enrich.enrich_texts` on them (texts/s; aim >= 5,000 on 2 cores).
3. Lands the same texts in ``raw.feedback`` of a scratch DuckDB warehouse and times
   :func:`loop.text.store.enrich_new_texts` (aim: 100k new texts within a minute), then a second call (nothing new).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from loop.landing.schema import ensure_tables
from loop.text.enrich import enrich_texts
from loop.text.store import enrich_new_texts

EN_OPENERS = ["", "Honestly, ", "Update: ", "Hi team, ", "Well... ", "FYI ", ""]
EN_SENTENCES = [
    "The {area} is {good} and I {like} it",
    "The {area} keeps {failing} when I {action}",
    "I {like} the new {area}, but the {area2} is still {bad}",
    "Why is the {area} so {bad}?",
    "{good_cap} experience with {area}, {good} support too",
    "It took {n} minutes to {action}",
    "I was charged twice and the {area2} did not help",
    "Please add {feature} to the {area}",
    "The {area} does not work on my {device}",
    "Not {good} at all, the {area} crashed {n} times",
    "Version {version} fixed the {area} bug, thanks",
    "Order #{order} arrived late and the {area2} ignored me",
]
EN = {
    "area": ["checkout", "search", "billing page", "onboarding", "app", "invoice", "dashboard", "login", "cart"],
    "area2": ["support team", "refund process", "help center", "chat", "billing team"],
    "good": ["great", "fast", "easy", "amazing", "good", "smooth", "reliable"],
    "good_cap": ["Great", "Excellent", "Smooth", "Lovely"],
    "bad": ["slow", "confusing", "buggy", "terrible", "expensive", "broken"],
    "like": ["love", "like", "enjoy", "hate", "can't stand"],
    "failing": ["failing", "freezing", "crashing", "timing out", "logging me out"],
    "action": ["pay with my card", "search for shoes", "update my address", "download the invoice", "sign up"],
    "feature": ["dark mode", "Pix payments", "Apple Pay", "order tracking", "saved filters"],
    "device": ["iPhone 13", "Android phone", "tablet", "laptop"],
}
PT_OPENERS = ["", "Olá, ", "Sinceramente, ", "Pessoal, ", "Bom dia! ", ""]
PT_SENTENCES = [
    "O {area} é {good} e eu {like}",
    "O {area} fica {failing} quando tento {action}",
    "Gostei do novo {area}, mas o {area2} ainda é {bad}",
    "Por que o {area} está tão {bad}?",
    "Experiência {good} com o {area}, atendimento {good} também",
    "Demorei {n} minutos para {action}",
    "Fui cobrado duas vezes e o {area2} não ajudou",
    "Por favor, adicionem {feature} no {area}",
    "O {area} não funciona no meu {device}",
    "Nada {good}, o {area} travou {n} vezes",
    "A versão {version} resolveu o erro do {area}, obrigado",
    "O pedido {order} chegou atrasado e o {area2} me ignorou",
]
PT = {
    "area": ["checkout", "aplicativo", "cadastro", "carrinho", "boleto", "painel", "login", "busca"],
    "area2": ["suporte", "atendimento", "reembolso", "chat", "SAC"],
    "good": ["ótimo", "rápido", "fácil", "excelente", "bom", "prático"],
    "bad": ["lento", "confuso", "ruim", "péssimo", "caro", "instável"],
    "like": ["adorei", "gostei", "recomendo", "odiei", "não gostei"],
    "failing": ["travando", "carregando", "fechando sozinho", "dando erro"],
    "action": ["pagar com cartão", "pagar com Pix", "mudar meu endereço", "emitir a nota", "criar a conta"],
    "feature": ["modo escuro", "pagamento por Pix", "parcelamento", "rastreio do pedido"],
    "device": ["iPhone", "celular Android", "tablet", "notebook"],
}
PII = [
    "my email is {first}.{last}{n}@gmail.com",
    "call me at (415) 555-{four}",
    "meu telefone é (11) 9{four}-{four}",
    "contato: {first}{n}@empresa.com.br",
    "card 4111 1111 1111 1111 was charged",
    "meu CPF é 529.982.247-25",
    "WhatsApp +55 21 9{four}-{four}",
]
NAMES = ["ana", "joao", "maria", "john", "mary", "li", "chloe"]


def _fill(rng: random.Random, template: str, words: dict[str, list[str]]) -> str:
    values = {key: rng.choice(options) for key, options in words.items()}
    values |= {
        "n": str(rng.randint(2, 40)),
        "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        "order": str(rng.randint(10_000_000, 99_999_999)),
        "first": rng.choice(NAMES),
        "last": rng.choice(NAMES),
        "four": f"{rng.randint(0, 9999):04d}",
    }
    return template.format(**values)


def generate(count: int, seed: int = 7) -> list[str]:
    """``count`` distinct feedback texts, deterministic for ``seed``."""
    rng = random.Random(seed)
    texts: list[str] = []
    seen: set[str] = set()
    while len(texts) < count:
        english = rng.random() < 0.5
        sentences, words, openers = (EN_SENTENCES, EN, EN_OPENERS) if english else (PT_SENTENCES, PT, PT_OPENERS)
        size = rng.choice([1, 1, 2, 2, 3, 4, 6])
        parts = [_fill(rng, rng.choice(sentences), words) for _ in range(size)]
        if rng.random() < 0.33:  # a short one: a few words of one sentence
            parts = [" ".join(parts[0].split()[: rng.randint(2, 5)])]
        if rng.random() < 0.10:
            parts.insert(rng.randint(0, len(parts)), _fill(rng, rng.choice(PII), words))
        separator = "\n" if rng.random() < 0.1 else rng.choice([". ", "! ", ". "])
        text = rng.choice(openers) + separator.join(parts) + rng.choice([".", "!", "", " :(", " 🙂"])
        if text not in seen:
            seen.add(text)
            texts.append(text)
    return texts


def _land(path: Path, texts: list[str]) -> None:
    con = duckdb.connect(str(path))
    ensure_tables(con)
    frame = pd.DataFrame({"feedback_id": [f"fb_{i:07d}" for i in range(len(texts))], "text": texts})
    con.register("generated", frame)
    con.execute(
        """
        INSERT INTO raw.feedback (feedback_id, kind, text, _source_file, _row_number, _partition_date, _landed_at)
        SELECT feedback_id, 'review', text, 'bench.csv', row_number() OVER (), DATE '2026-03-02', now()
        FROM generated
        """
    )
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    texts = generate(args.texts)
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"{len(texts):,} distinct texts, {words:.1f} words on average, {args.workers} worker(s)")

    start = time.perf_counter()
    enriched = enrich_texts(texts, workers=args.workers)
    seconds = time.perf_counter() - start
    scrubbed = sum(1 for e in enriched if e.pii_kinds)
    print(f"enrich_texts: {seconds:.1f} s, {len(texts) / seconds:,.0f} texts/s ({scrubbed:,} texts with PII scrubbed)")

    scratch = Path(tempfile.mkdtemp(prefix="loop-bench-text-"))
    try:
        path = scratch / "warehouse.duckdb"
        _land(path, texts)
        con = duckdb.connect(str(path))
        start = time.perf_counter()
        processed = enrich_new_texts(con, workers=args.workers)
        seconds = time.perf_counter() - start
        print(f"enrich_new_texts: {processed:,} new texts in {seconds:.1f} s ({processed / seconds:,.0f} texts/s)")
        start = time.perf_counter()
        again = enrich_new_texts(con, workers=args.workers)
        print(f"enrich_new_texts again: {again} new texts in {time.perf_counter() - start:.2f} s")
        con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
