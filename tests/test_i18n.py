"""The app's languages (ui/i18n.py, ui/locales/*.json): complete catalogues, no string that bypasses them, and the
language a link, the sidebar's picker or the browser asks for."""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ae.data.datasets import DATASETS, DEFAULT
from ui import i18n

ROOT = Path(__file__).resolve().parent.parent
EN = i18n.catalogue("en")
OTHERS = [code for code in i18n.LANGUAGES if code != i18n.SOURCE]
TITLES = {"en": "Draw a digit", "de": "Zeichne eine Ziffer", "es": "Dibuja un dígito"}


@pytest.fixture(autouse=True)
def _no_class_mode(monkeypatch):
    monkeypatch.delenv("AELAB_TEACHER_PASSWORD", raising=False)


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def sample(template: str) -> dict:
    """A value for each placeholder that its format spec accepts: a number where the spec formats one."""
    values = {}
    for _, name, spec, _ in string.Formatter().parse(template):
        if name is not None:
            values[name] = 0.5 if re.search(r"[efg%]$", spec or "") else 1234 if "," in (spec or "") else "x"
    return values


# --- the catalogues ----------------------------------------------------------------------------------------------


def test_every_language_has_a_catalogue_and_every_catalogue_a_language():
    files = {p.stem for p in i18n.LOCALES.glob("*.json")}
    assert files == set(i18n.LANGUAGES)
    assert len(OTHERS) >= 2


@pytest.mark.parametrize("code", OTHERS)
def test_a_catalogue_has_exactly_the_english_keys_and_placeholders(code):
    other = i18n.catalogue(code)
    assert sorted(set(EN) - set(other)) == [], f"{code}.json misses these keys"
    assert sorted(set(other) - set(EN)) == [], f"{code}.json has keys English does not"
    differ = {k: (fields(EN[k]), fields(other[k])) for k in EN if fields(EN[k]) != fields(other[k])}
    assert differ == {}, f"{code}.json: placeholders differ from English"


@pytest.mark.parametrize("code", i18n.LANGUAGES)
def test_every_text_is_filled_in_and_formats(code):
    cat = i18n.catalogue(code)
    assert [k for k, v in cat.items() if not isinstance(v, str) or not v.strip()] == []
    for key, template in cat.items():
        if key.startswith("live."):  # the pad's script fills these in itself, with str(value)
            continue
        template.format(**sample(template))  # a bad spec or a stray brace fails here, not in a student's page


def test_a_missing_key_is_an_error_under_the_tests_and_english_for_a_student(monkeypatch):
    with pytest.raises(KeyError):
        i18n.text("de", "no.such.key")
    i18n.catalogue("de").pop("nav.draw")
    try:
        with pytest.raises(KeyError, match=r"nav\.draw"):
            i18n.text("de", "nav.draw")  # conftest.py sets AELAB_I18N_STRICT=1
        monkeypatch.delenv(i18n.STRICT_ENV)
        assert i18n.text("de", "nav.draw") == EN["nav.draw"]
    finally:
        i18n.catalogue.cache_clear()


def test_a_language_tag_is_read_as_its_language():
    assert [i18n.code_of(tag) for tag in ("de-AT", "ES", "en_GB", "fr-FR", "", None)] == [
        "de", "es", "en", None, None, None,
    ]  # fmt: skip


def test_the_live_pads_built_in_words_are_the_english_catalogues():
    """The offline edition has no catalogue: its words are the script's own, which must be English's ``live.*``."""
    script = (ROOT / "components/live_draw/live.js").read_text()
    body = re.search(r"const TEXT = \{(.*?)\n\};", script, re.S).group(1)
    built_in = {k: json.loads(v) for k, v in re.findall(r'(\w+): ("(?:[^"\\]|\\.)*")', body)}
    assert built_in == {k.removeprefix("live."): v for k, v in EN.items() if k.startswith("live.")}


# --- no string around the catalogue --------------------------------------------------------------------------------

SOURCES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
# Streamlit calls that put text on the page, and the arguments that carry it (the first positional one: the label
# or the body).
SHOWN = {
    "title", "header", "subheader", "write", "markdown", "caption", "info", "warning", "error", "success", "toast",
    "button", "download_button", "form_submit_button", "selectbox", "radio", "slider", "select_slider",
    "number_input", "text_input", "text_area", "toggle", "checkbox", "segmented_control", "pills", "popover",
    "expander", "metric", "file_uploader", "progress", "status", "spinner", "multiselect", "image", "Page",
    "set_page_config", "update", "tabs",
}  # fmt: skip
NOT_TEXT_FIRST = {"Page", "image", "update", "set_page_config"}  # their first argument is a path, a picture
TEXT_KEYWORDS = {"label", "caption", "alt", "help", "placeholder", "text", "title", "page_title", "body"}
# Words that read the same in every language: units, measures, file formats, the formula's names.
LOGGERS = {"LOG", "log", "logger", "_LOGGER"}
SAME_EVERYWHERE = {"MSE", "PSNR", "SSIM", "dB", "ELBO", "KL", "PNG", "WebP", "JPEG", "ael", "inf"}


def literal_words(node: ast.AST) -> list[str]:
    """The words of the string literals in ``node``, outside any call (``t("key")`` is the catalogue's) and outside
    format specs."""
    if isinstance(node, ast.Call):
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [w for w in re.findall(r"[^\W\d_]{2,}", node.value) if w not in SAME_EVERYWHERE]
    if isinstance(node, ast.FormattedValue):
        return literal_words(node.value)
    return [w for child in ast.iter_child_nodes(node) for w in literal_words(child)]


def bypasses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHOWN):
            continue
        if isinstance(node.func.value, ast.Name) and node.func.value.id in LOGGERS:  # the server's log, not the page
            continue
        first = node.args[:1] if node.func.attr not in NOT_TEXT_FIRST else []
        shown = first + [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
        if words := [w for arg in shown for w in literal_words(arg)]:
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
            found.append(f"{where}:{node.lineno} {node.func.attr}(...): {' '.join(words)}")
    return found


def test_no_page_passes_its_own_words_to_streamlit():
    """Every label, body, caption, alt text and help shown comes from ``t()``; a literal with words fails here with
    its file and line."""
    assert [b for path in SOURCES for b in bypasses(path)] == []


def test_the_scan_finds_a_string_that_bypasses_the_catalogue(tmp_path):
    page = tmp_path / "page.py"
    page.write_text(
        'st.title(t("draw.title"))\ncols[0].button(f"Cancel {name}")\nst.metric("PSNR", f"{x:.1f} dB")\n'
        'st.image(img, caption=f"MSE {mse:.4f}", alt="A digit")\n'
    )
    assert [b.split(" ", 1)[1] for b in bypasses(page)] == ["button(...): Cancel", "image(...): digit"]


def test_every_key_the_code_names_is_in_the_catalogue():
    named = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t" and node.args:
                named |= {node.args[0].value} if isinstance(node.args[0], ast.Constant) else set()
    assert len(named) > 300
    assert sorted(named - set(EN)) == []


# Keys the code builds from a value (t(f"gallery.{which}"), headers(), label(), the live pad's templates("live.")).
BUILT = re.compile(
    r"(col|live|kind|group)\.|charts\.(train|test|cost_)|gallery\.(best|worst)|interpolate\.(start|end)$"
    r"|build\.(queued|running|trained|untrained)$"
    r"|dataset\.|datasets\.missing\.|class\.|familiar\.|draw\.test_(caption|alt)\."
    # another dataset's words for a key (ui.datasets.t_item)
    + "".join(f"|.*\\.{key}$" for key in DATASETS if key != DEFAULT)
)


def test_every_english_key_is_used():
    code = "".join(path.read_text() for path in SOURCES)
    assert [k for k in EN if f'"{k}"' not in code and not BUILT.match(k)] == []


# --- what the pages show -------------------------------------------------------------------------------------------


HIDDEN_FIELDS = {"column_order", "id", "form_id"}  # a table's data column names, keys: never shown as such


def shown_strings(at: AppTest) -> list[str]:
    """Every string of every element and block of the page (labels, bodies, options, captions, help), as sent."""
    out: list[str] = []

    def strings(message) -> None:
        for field, value in message.ListFields():
            if field.name in HIDDEN_FIELDS:
                continue
            if field.type == field.TYPE_STRING:
                out.extend([value] if isinstance(value, str) else list(value))
            elif field.type == field.TYPE_MESSAGE:
                for item in [value] if hasattr(value, "ListFields") else value:
                    strings(item)

    def walk(node) -> None:
        if getattr(node, "proto", None) is not None:
            strings(node.proto)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def untranslated(at: AppTest, code: str) -> list[str]:
    """English catalogue texts the page shows although ``code`` has its own words for them."""
    theirs = json.loads((i18n.LOCALES / f"{code}.json").read_text(encoding="utf-8"))  # as shipped, not as patched
    english = {v.strip(): k for k, v in EN.items() if theirs[k].strip() != v.strip()}
    return sorted({f"{english[s.strip()]}: {s.strip()[:60]}" for s in shown_strings(at) if s.strip() in english})


def run_page(path: str, code: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=180)
    at.query_params["lang"] = code
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


QUICK = [("pages/draw.py", {"source": "Random test digit"}), ("pages/compare.py", {})]
PAGES = [f"pages/{p.name}" for p in sorted((ROOT / "pages").glob("*.py"))]


@pytest.mark.parametrize("code", OTHERS)
@pytest.mark.parametrize(("path", "state"), QUICK, ids=[p for p, _ in QUICK])
def test_a_page_shows_no_english_catalogue_text_in_another_language(path, state, code):
    at = run_page(path, code, **state)
    assert untranslated(at, code) == []
    assert at.title[0].value == i18n.text(code, "draw.title" if "draw" in path else "compare.title")


@pytest.mark.slow
@pytest.mark.parametrize("code", OTHERS)
@pytest.mark.parametrize("path", PAGES)
def test_every_page_shows_no_english_catalogue_text_in_another_language(path, code):
    at = run_page(path, code)
    assert untranslated(at, code) == []


def test_the_check_sees_an_untranslated_string():
    at = run_page("pages/compare.py", "de")
    i18n.catalogue("de")["compare.cost"] = EN["compare.cost"]  # as if the page wrote English around the catalogue
    try:
        at.run()
        assert untranslated(at, "de") == [f"compare.cost: {EN['compare.cost']}"]
    finally:
        i18n.catalogue.cache_clear()


# --- which language ------------------------------------------------------------------------------------------------


def app(**context) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.context.update(context)
    return at


def title(at: AppTest) -> str:
    assert not at.exception, at.exception
    return at.title[0].value


def test_english_is_the_default_and_the_browser_language_is_used():
    assert title(app().run()) == TITLES["en"]
    assert title(app(locale="de-DE").run()) == TITLES["de"]
    assert title(app(locale="fr-FR").run()) == TITLES["en"]  # a language the app does not speak


def test_a_links_lang_wins_over_the_browser_and_goes_into_the_link_to_this_view():
    at = app(locale="de-DE")
    at.query_params["lang"] = "es"
    at.run()
    assert title(at) == TITLES["es"]
    assert at.query_params["lang"] == "es"
    assert "lang=es" in at.code[0].value  # "Link to this view" carries it
    assert "document.documentElement.lang = 'es'" in "".join(shown_strings(at))


def test_the_sidebar_picker_switches_the_language_and_writes_it_into_the_url():
    at = app().run()
    picker = at.sidebar.selectbox(key=i18n.PICKER)
    assert picker.options == ["English", "Deutsch", "Español"]  # each in its own language
    picker.set_value("de").run()
    assert title(at) == TITLES["de"]
    assert at.query_params["lang"] == "de"
    assert at.sidebar.selectbox(key=i18n.PICKER).label == "Sprache"
    at.sidebar.selectbox(key=i18n.PICKER).set_value("en").run()
    assert title(at) == TITLES["en"]


def test_an_unknown_lang_falls_back_to_english_with_a_note():
    at = app()
    at.query_params["lang"] = "xx"
    at.run()
    assert title(at) == TITLES["en"]
    assert [t.value for t in at.toast] == [i18n.text("en", "lang.unknown", value="xx", known="en, de, es")]
    assert "lang" not in at.query_params


def test_a_lesson_link_without_sidebar_still_speaks_its_language():
    at = app()
    at.query_params.update({"lang": "de", "hide": "sidebar"})
    at.run()
    assert title(at) == TITLES["de"]
    assert not at.sidebar.selectbox
