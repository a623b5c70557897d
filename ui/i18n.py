"""The app's languages: every string the user reads comes from one catalogue per language, ``ui/locales/<code>.json``.

A catalogue maps keys (``draw.title``) to text with named ``{placeholders}`` (``str.format``: ``{mse:.4f}`` formats
a number); English is the source, and tests/test_i18n.py checks that every other catalogue has exactly its keys and
placeholders. ``t(key, **values)`` is the text in this session's language; a key missing there falls back to English
at run time (the test, not the student, finds it; under the tests, ``AELAB_I18N_STRICT=1``, it is an error).

The language: a link's ``?lang=de`` (a teacher's link carries it), else the sidebar's picker (this session), else
the browser's (``st.context.locale``), else English. The link's value is applied once, when the link opens it; the
picker then owns the choice and writes it back to the URL, as ``ui.view`` does for the other parameters.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextvars import ContextVar
from functools import cache
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

LOCALES = Path(__file__).resolve().parent / "locales"
SOURCE = "en"
LANGUAGES = {"en": "English", "de": "Deutsch", "es": "Español"}  # each named in its own language, for the picker
STRICT_ENV = "AELAB_I18N_STRICT"  # "1" (the tests): a key missing from a catalogue is an error, not English
PARAM = "lang"
PICKER = "lang_picker"  # the sidebar's selectbox
_CHOSEN = "_aelab_lang"  # the language this session chose (picker or link)
_URL_SEEN = "_aelab_lang_url"  # the URL value already applied, so it is applied once
_BAD = "_aelab_lang_bad"  # a link's unknown value, noted once by the sidebar
_HELD: ContextVar[str | None] = ContextVar("aelab_lang_held", default=None)  # set by ``held`` while it formats


@cache
def catalogue(code: str) -> dict[str, str]:
    """The catalogue of ``code`` (one of LANGUAGES), read once per process."""
    return json.loads((LOCALES / f"{code}.json").read_text(encoding="utf-8"))


def code_of(tag: str | None) -> str | None:
    """The LANGUAGES code of a language tag ("de-AT", "ES", "en_GB"), or None when the app does not speak it."""
    base = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def _from_link() -> None:
    """Apply the URL's ``lang`` when it is news to this session; remember an unknown value for the sidebar's note."""
    value = st.query_params.get(PARAM)
    ss = st.session_state
    if value is None or ss.get(_URL_SEEN) == value:
        return
    ss[_URL_SEEN] = value
    if (code := code_of(value)) is not None:
        ss[_CHOSEN] = code
    else:
        ss[_BAD] = value


def current() -> str:
    """This session's language code: link, else picker, else browser, else English (outside a run: English)."""
    if (held := _HELD.get()) is not None:
        return held
    if get_script_run_ctx(suppress_warning=True) is None:
        return SOURCE
    _from_link()
    chosen = st.session_state.get(_CHOSEN)
    if chosen in LANGUAGES:
        return chosen
    return code_of(st.context.locale) or SOURCE


def text(code: str, key: str, **values) -> str:
    """``key`` in language ``code`` (English when that catalogue lacks it), with ``values`` put in."""
    template = catalogue(code).get(key)
    if template is None:
        if code != SOURCE and os.environ.get(STRICT_ENV) == "1":
            raise KeyError(f"{key!r} is missing from {code}.json")
        template = catalogue(SOURCE)[key]  # a key English lacks is a bug: KeyError, loudly
    return template.format(**values)


def label(prefix: str, value: str) -> str:
    """A data value shown as a label (a chart's group or kind of code) in words, when the catalogue names it
    (``<prefix>.<value>``); else as it is."""
    key = f"{prefix}.{value}"
    return t(key) if key in catalogue(SOURCE) else value


def templates(prefix: str) -> dict[str, str]:
    """Every ``prefix`` key's text in this session's language, placeholders left in (for the live pad's script, which
    fills them in itself), keyed without the prefix."""
    code, keys = current(), [k for k in catalogue(SOURCE) if k.startswith(prefix)]
    return {k.removeprefix(prefix): catalogue(code).get(k, catalogue(SOURCE)[k]) for k in keys}


def t(key: str, **values) -> str:
    """``key`` in this session's language."""
    return text(current(), key, **values)


def headers(columns) -> dict[str, str]:
    """Labels in this session's language for the table columns the catalogue names (``col.<column>``), for a
    dataframe's ``column_config``: the data keeps its English column names, which code and tests look up."""
    return {c: t(f"col.{c}") for c in columns if f"col.{c}" in catalogue(SOURCE)}


def held(format_func: Callable[[object], str]) -> Callable[[object], str]:
    """``format_func`` (a widget's option labels) bound to this run's language: Streamlit keeps it and may call it
    after the run (AppTest does), where no session says which language is in use."""
    code = current()

    def formatted(option: object) -> str:
        token = _HELD.set(code)
        try:
            return format_func(option)
        finally:
            _HELD.reset(token)

    return formatted


def _picked() -> None:
    code = st.session_state.get(PICKER)
    st.session_state[_CHOSEN] = code
    st.session_state[_URL_SEEN] = code
    st.query_params[PARAM] = code


def picker() -> None:
    """The sidebar's language picker, each language named in its own language; a choice goes into the URL."""
    st.session_state[PICKER] = current()  # the widget shows the language in use, however it was chosen
    st.selectbox(t("lang.picker"), list(LANGUAGES), format_func=LANGUAGES.get, key=PICKER, on_change=_picked)


def begin() -> None:
    """Note a link's unknown language once, keep a chosen language in the URL, and tell the browser the page's
    language (``<html lang>``, for screen readers and hyphenation): one of LANGUAGES, never the URL's text."""
    ss = st.session_state
    if (bad := ss.pop(_BAD, None)) is not None:
        shown = bad if len(bad) <= 20 else bad[:20] + "…"
        st.toast(t("lang.unknown", value=shown, known=", ".join(LANGUAGES)), icon=":material/translate:")
    chosen = ss.get(_CHOSEN)
    if st.query_params.get(PARAM) != chosen and (chosen or bad is not None):
        # Back into the URL (Streamlit drops the query when the page changes), so that a link carries it; a value
        # the app does not speak goes out of it.
        ss[_URL_SEEN] = chosen
        if chosen:
            st.query_params[PARAM] = chosen
        elif PARAM in st.query_params:
            del st.query_params[PARAM]
    script = f"<script>document.documentElement.lang = '{current()}';</script>"
    st.html(script, unsafe_allow_javascript=True)
