"""The view in the URL: the query parameters that make the address bar a link to what the page shows.

``data`` (``ui.datasets``), ``model``, ``digit`` (``end`` for Interpolate's second digit), ``metric``, ``presenter=1``,
``hide=sidebar,retrain,nav`` and ``lang`` (``ui.i18n`` reads it). A value from the URL is applied once, when a link
opens it (or when it changes); after that the widgets own the choice and each change is written back, so the URL
always describes the current view. A value that is not one the page offers is ignored with a toast, never used (it
is only ever compared with the page's own options, never opened as a path).

``hide`` only takes controls away: the sidebar and app.py check it before drawing a control, and every change
to a shared model is still checked by role in ``ui.actions``, so no value of it can give a session anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from urllib.parse import urlencode

import streamlit as st

from ui.i18n import t

HIDEABLE = ("sidebar", "retrain", "nav")
ON, OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
# The link's parameters, in a readable order.
ORDER = ("data", "model", "digit", "end", "metric", "presenter", "hide", "lang")
_SEEN = "_aelab_view_seen"  # param -> the URL value this session already applied or wrote itself
_HIDDEN = "_aelab_view_hidden"  # what this session hides; it only ever grows (a reload starts afresh)
_SLOT = "_aelab_view_link_slot"  # this run's "Link to this view" placeholder, redrawn when a parameter changes
_KEPT = "_aelab_view_kept_"  # a picker's last choice, for runs in which its widget is not drawn


def incoming(param: str) -> str | None:
    """The URL's value of ``param`` when it is news to this session (a link was just opened), else None.

    Once applied, the value is remembered, so that a widget the user changes next is not set back by the URL of the
    run before; and a parameter missing from the URL (Streamlit drops them when the page changes) changes nothing.
    """
    value = st.query_params.get(param)
    seen = st.session_state.setdefault(_SEEN, {})
    if value is None or seen.get(param) == value:
        return None
    seen[param] = value
    return value


def write(param: str, value: str | None) -> None:
    """Put ``param`` into the URL (None: take it out), and refresh the link shown for this view."""
    st.session_state.setdefault(_SEEN, {})[param] = value
    if value is None:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != value:
        st.query_params[param] = value
    else:
        return
    _show_link()


def note(param: str, value: str, why: str) -> None:
    shown = value if len(value) <= 40 else value[:40] + "…"  # a link can carry anything: keep the note short
    st.toast(t("view.ignored", param=param, value=shown, why=why), icon=":material/link_off:")


def link() -> str:
    """This view's link: the app's address when the browser told it (st.context.url), else relative."""
    params = {p: st.query_params[p] for p in ORDER if p in st.query_params}
    query = "?" + urlencode(params, safe=",") if params else ""
    return (st.context.url or "") + query


def link_slot() -> None:
    """Where "Link to this view" is drawn (in the current container); it is redrawn whenever the view changes."""
    st.session_state[_SLOT] = st.empty()
    _show_link()


def _show_link() -> None:
    slot = st.session_state.get(_SLOT)
    if slot is None:
        return
    with slot.container(), st.popover(t("view.link"), icon=":material/link:", width="stretch"):
        st.code(link(), language=None, wrap_lines=True)
        st.caption(t("view.link_help"))


def _asked(value: str) -> tuple[set[str], list[str]]:
    """The valid parts of a ``hide`` value, and the rest."""
    parts = [p.strip().lower() for p in value.split(",") if p.strip()]
    return {p for p in parts if p in HIDEABLE}, [p for p in parts if p not in HIDEABLE]


def _drop_unknown_models(known: Sequence[str]) -> None:
    """Take names that are no model at all out of a new ``model=`` value, with a note, on every page: a page draws
    its picker late (Draw, only once there is a digit) or not at all (Compare)."""
    value = st.query_params.get("model")
    if value is None or st.session_state.get(_SEEN, {}).get("model") == value:
        return
    parts = [p for p in value.split(",") if p]
    if bad := [p for p in parts if p not in known]:
        note("model", ",".join(bad), t("view.no_such_model"))
        good = ",".join(p for p in parts if p in known)
        # Not marked as seen: the page's picker still applies the good part.
        if good:
            st.query_params["model"] = good
        else:
            del st.query_params["model"]


def begin(known_models: Sequence[str]) -> frozenset[str]:
    """Start this run's view (the sidebar calls it first on every page): forget the previous run's link slot, drop
    unknown names from ``model=``, add the URL's valid ``hide`` parts to what this session already hides, write
    that back, and return it."""
    st.session_state.pop(_SLOT, None)
    _drop_unknown_models(known_models)
    kept = set(st.session_state.get(_HIDDEN, ()))
    value = incoming("hide")
    if value is not None:
        valid, bad = _asked(value)
        if bad:
            note("hide", ",".join(bad), t("view.only_hide", parts=", ".join(HIDEABLE)))
        kept |= valid
    st.session_state[_HIDDEN] = frozenset(kept)
    write("hide", ",".join(p for p in HIDEABLE if p in kept) or None)
    return frozenset(kept)


def is_hidden(part: str) -> bool:
    """Whether ``part`` is hidden, as ``begin()`` read it in this run (writes nothing: safe in a fragment)."""
    return part in st.session_state.get(_HIDDEN, ())


def nav_position() -> str:
    """Where app.py puts the page list: in the sidebar; along the top when the sidebar is hidden; nowhere for nav.
    Read only (app.py runs before the page, whose sidebar notes and writes ``hide``)."""
    parts = set(st.session_state.get(_HIDDEN, ())) | _asked(st.query_params.get("hide") or "")[0]
    return "hidden" if "nav" in parts else "top" if "sidebar" in parts else "sidebar"


def presenter(draw: bool = True, **toggle) -> bool:
    """The presenter toggle (key "presenter"), set from ``presenter=1`` or ``0``; not drawn when ``draw`` is False
    (a hidden sidebar), where the link's value still holds."""
    ss = st.session_state
    value = incoming("presenter")
    if value is not None and value.lower() in ON + OFF:
        ss["presenter"] = value.lower() in ON
    else:
        if value is not None:
            note("presenter", value, t("view.presenter_values"))
        # Each page draws its own sidebar toggle, and Streamlit forgets a widget's value when the page changes:
        # handing the value back (Streamlit's own recipe) keeps presenter mode on from page to page.
        if "presenter" in ss or _KEPT + "presenter" in ss:
            ss["presenter"] = ss["presenter"] if "presenter" in ss else ss[_KEPT + "presenter"]
    on = st.toggle(t("view.presenter"), key="presenter", **toggle) if draw else bool(ss.get("presenter"))
    ss[_KEPT + "presenter"] = on
    write("presenter", "1" if on else None)
    return on


def _choose(param: str, key: str, options: Sequence[str], slug: Callable[[str], str] = str) -> None:
    """Preset the widget ``key`` from the URL's ``param`` when it names one of ``options`` (by ``slug``), or from
    its last choice when the widget was not drawn in between (Streamlit then forgets a widget's value)."""
    value = incoming(param)
    by_slug = {slug(o): o for o in options}
    if value is not None and value in by_slug:
        st.session_state[key] = by_slug[value]
    else:
        if value is not None:
            note(param, value, t("view.not_one_of", options=", ".join(by_slug)))
        if key not in st.session_state and st.session_state.get(_KEPT + key) in options:
            st.session_state[key] = st.session_state[_KEPT + key]


def model(key: str, names: Sequence[str], default: str | None = None, *, widget=None, **options) -> str:
    """A model picker over ``names`` (the registry's usable models) whose value comes from and goes to ``model=``.

    ``widget`` is st.selectbox unless given (Draw uses a radio); it stops the page with a hint when ``names`` is
    empty.
    """
    names = list(names)
    if not names:
        st.warning(t("view.no_model"))
        st.stop()
    _choose("model", key, names)
    index = names.index(default) if default in names else 0
    choice = (widget or st.selectbox)(
        options.pop("label", None) or t("view.model"), names, index=index, key=key, **options
    )
    st.session_state[_KEPT + key] = choice
    write("model", choice)
    return choice


def models(key: str, names: Sequence[str], default: Sequence[str]) -> list[str]:
    """Several models at once (the Training page's pills): ``model=linear-32,conv-8`` in the URL."""
    names = list(names)
    value = incoming("model")
    if value is not None:
        parts = [p for p in value.split(",") if p]
        if bad := [p for p in parts if p not in names]:
            note("model", ",".join(bad), t("view.models_here", names=", ".join(names)))
        if good := [p for p in parts if p in names]:
            st.session_state[key] = good
    if key not in st.session_state and _KEPT + key in st.session_state:
        st.session_state[key] = [n for n in st.session_state[_KEPT + key] if n in names]
    picked = st.pills(t("view.models"), names, selection_mode="multi", default=list(default), key=key)
    st.session_state[_KEPT + key] = list(picked)
    write("model", ",".join(picked) or None)
    return list(picked)


def metric_slug(option: str) -> str:
    """The option's short name for the link: PSNR (dB) -> psnr, classifier accuracy -> accuracy."""
    return re.sub(r"\(.*?\)", "", option).split()[-1].lower()


def metric(options: Sequence[str], key: str, default: str, **control) -> str:
    """The Rate & distortion page's quality measure, a segmented control that reads and writes ``metric=``."""
    options = list(options)
    _choose("metric", key, options, metric_slug)
    choice = st.segmented_control(t("view.quality"), options, default=default, key=key, **control) or default
    st.session_state[_KEPT + key] = choice
    write("metric", metric_slug(choice))
    return choice


def digit(n_test: int, param: str = "digit") -> int | None:
    """The test digit a just-opened link asks for (0 to ``n_test`` - 1), else None; a bad value is noted."""
    value = incoming(param)
    if value is None:
        return None
    if re.fullmatch(r"[0-9]{1,9}", value) and int(value) < n_test:
        return int(value)
    note(param, value, t("view.digit_range", last=n_test - 1))
    return None


def show_digit(index: int | None, param: str = "digit") -> None:
    """Write the test digit on screen into the URL (None when the input is not a test digit)."""
    write(param, None if index is None else str(int(index)))
