"""The language of a feedback text: English (``en``), Portuguese (``pt``) or undetermined (``und``).

A deterministic vote: every word that is a common English (or Portuguese) function word or feedback word gives
one vote to its language, and every word carrying a Portuguese-only letter (ã, õ, ç, â, ê, ô, à, á, é, í, ó, ú)
gives one to Portuguese. Words both languages use (``a``, ``no``, ``do``, ``as``, ``app``, ...) vote for none.
The language with more votes wins; no votes, or a tie, is ``und`` (no sentiment is computed for it).
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "pt", "und"]


def _words(listing: str) -> list[str]:
    return listing.split()


_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_PT_LETTERS = frozenset("ãõçâêôàáéíóú")

_EN_WORDS = frozenset(
    _words(
        """
    the and is are was were be been it its it's i i'm i've my we our you your they them their this that these
    those with for of to in on at from by not but or if so than then very too just also only can can't cannot
    could couldn't would wouldn't should don't doesn't didn't won't isn't wasn't aren't have has had do does did
    what when where why how which who there here all any some more most much many after before again still
    about into out up down over under every each because while will get got keep keeps great good love loved
    like nice easy bad slow worst best terrible awful awesome amazing excellent thanks thank please works work
    working broken issue problem fast quick helpful useless app's pay paid charged twice refund search checkout
    horrible perfect fantastic wonderful disappointed annoying
    """
    )
)
_PT_WORDS = frozenset(
    _words(
        """
    o os um uma uns umas de da das dos na nas num numa em que não e é ou mas mais muito muita muitos muitas meu
    minha meus minhas eu você vocês ele ela eles elas nós nosso nossa seu sua com sem para pra por pelo pela
    foi era está estão estava ser ter tem tinha já ainda só também quando onde porque porquê como isso isto
    esse essa este esta aqui lá bem mal bom boa ótimo ótima ruim péssimo péssima lento lenta rápido fácil
    difícil gostei adorei amei odiei obrigado obrigada funciona funcionou consigo consegui nada nunca sempre
    todo toda todos tudo cobrado cobrança compra pagamento busca pesquisa cadastro aplicativo atendimento
    problema erro demora demorou depois antes agora hoje ontem perfeito perfeita maravilhoso
    maravilhosa horrível decepcionado decepcionada
    """
    )
)


def language(text: str) -> Language:
    """``en``, ``pt`` or ``und`` for ``text``, by a vote of its words (see the module docstring)."""
    english = portuguese = 0
    for word in _WORD.findall(text.lower()):
        if word in _EN_WORDS:
            english += 1
        elif word in _PT_WORDS or not _PT_LETTERS.isdisjoint(word):
            portuguese += 1
    if english > portuguese:
        return "en"
    if portuguese > english:
        return "pt"
    return "und"
