"""Two app replicas behind a real HAProxy, as deploy/compose.yaml runs them, but as plain processes on 127.0.0.1.

Two `streamlit run app.py` share one workspace (AELAB_HOME) and the tiny test registry; HAProxy runs
deploy/haproxy.cfg itself, with the listen and replica addresses given through the environment. Checked in
Chromium: a browser session stays on one replica (its cookie, every response, an upload and its images); a model
retrained through one replica is served by the other; two replicas asked to train the same model at once train it
once; a replica killed mid-lesson sends its browser to the other on a reload, and the retrained model is still
served.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from bench.load import CHROMIUM, FLAGS, free_port
from tests.chromium import require
from tests.tiny import TINY_RECIPE

ROOT = Path(__file__).resolve().parent.parent
HAPROXY = "/usr/sbin/haproxy"
CONFIG = ROOT / "deploy" / "haproxy.cfg"
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "replica test password"
REPLICA = "x-aelab-replica"  # the response header deploy/haproxy.cfg adds: which server answered
START_S = 180  # two servers importing torch at once on two busy cores
TRAIN_S = 180  # a tiny model's retrain takes seconds alone; other agents share these cores

pytestmark = [pytest.mark.slow, pytest.mark.browser]

require((CHROMIUM, "apt-get install chromium"), (HAPROXY, "apt-get install haproxy"))


@dataclass
class Cluster:
    home: Path  # the shared workspace
    balancer: str
    replicas: dict[str, str]  # HAProxy's server name -> that replica's own URL
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def checkpoint(self, name: str) -> Path:
        return self.home / "checkpoints" / f"{name}.json"


def _wait_healthy(url: str, proc: subprocess.Popen, deadline_s: float) -> None:
    t0 = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before {url} was healthy") from None
            if time.monotonic() - t0 > deadline_s:
                raise RuntimeError(f"{url} not healthy after {deadline_s} s") from None
            time.sleep(0.2)


def _wait_balanced(c: Cluster, deadline_s: float) -> None:
    """Until HAProxy's health checks have every replica up: a request pinned to each by its cookie is answered by
    that replica (while one is still marked down, HAProxy redispatches its requests to the other)."""
    t0 = time.monotonic()
    for name in c.replicas:
        request = urllib.request.Request(f"{c.balancer}/_stcore/health", headers={"Cookie": f"SERVERID={name}"})
        while True:
            try:
                with urllib.request.urlopen(request, timeout=2) as answer:
                    if answer.headers.get(REPLICA) == name:
                        break
            except OSError:
                pass
            if time.monotonic() - t0 > deadline_s:
                raise RuntimeError(f"HAProxy did not route to {name} within {deadline_s} s")
            time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _streamlit(port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
            "--server.address", "127.0.0.1", "--server.port", str(port)]  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from ae.data.mnist import load_mnist
    from ae.training.runs import train_and_save
    from tests.tiny import TINY_LINEAR

    base = tmp_path_factory.mktemp("replicas")
    # The "shipped" tiny-linear, so that the Draw page has a model to reconstruct with from the start.
    train_and_save(TINY_LINEAR, load_mnist(), directory=base / "shipped")
    app_env = {
        **os.environ,
        "AELAB_HOME": str(base / "home"),  # the one workspace both replicas share
        "AELAB_CHECKPOINTS": str(base / "shipped"),
        "AELAB_REGISTRY": "tests.tiny:REGISTRY",
        "AELAB_TEACHER_PASSWORD": PASSWORD,
    }
    ports = {"app1": free_port(), "app2": free_port(), "balancer": free_port()}
    c = Cluster(
        base / "home",
        f"http://127.0.0.1:{ports['balancer']}",
        {name: f"http://127.0.0.1:{ports[name]}" for name in ("app1", "app2")},
    )
    # deploy/haproxy.cfg as it is: HAProxy fills in "${AELAB_...}" from its environment.
    lb_env = {
        **os.environ,
        "AELAB_LISTEN": f"127.0.0.1:{ports['balancer']}",
        "AELAB_APP1": f"127.0.0.1:{ports['app1']}",
        "AELAB_APP2": f"127.0.0.1:{ports['app2']}",
    }
    try:
        for name in c.replicas:
            c.procs[name] = _start(_streamlit(ports[name]), app_env, base / f"{name}.log")
        # -db: stay in the foreground, so that this PID is HAProxy's own and its log goes to our file.
        c.procs["haproxy"] = _start([HAPROXY, "-db", "-f", str(CONFIG)], lb_env, base / "haproxy.log")
        for name, url in c.replicas.items():
            _wait_healthy(url, c.procs[name], START_S)
        _wait_healthy(c.balancer, c.procs["haproxy"], 30)
        _wait_balanced(c, 30)
        print(f"\nreplicas {c.replicas}, balancer {c.balancer}, logs in {base}")
        yield c
    finally:
        for proc in c.procs.values():
            _stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser):
    """A fresh browser context per call: its own cookies, so its own Streamlit session and its own SERVERID."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(90_000)
        return page

    yield make
    for context in contexts:
        context.close()


def _server_cookie(page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "SERVERID"), None)


def _seven_png() -> bytes:
    img = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(img).line([(70, 60), (210, 60), (120, 240)], fill=255, width=22)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _upload_and_reconstruct(page) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.get_by_text("Draw a digit on the black square").wait_for()
    page.get_by_test_id("stButtonGroup").first.get_by_text("Upload", exact=True).click()
    picture = page.get_by_role("region", name="A picture of one digit")  # not My digits' file uploader
    picture.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        {"name": "seven.png", "mimeType": "image/png", "buffer": _seven_png()}
    )
    try:
        page.get_by_text("Reconstruction by tiny-linear").first.wait_for(timeout=60_000)
    except PlaywrightTimeout:
        # What a balancer without affinity does: the upload reached a replica that does not know this session.
        raise AssertionError("the uploaded picture was not reconstructed within 60 s") from None
    page.get_by_test_id("stMetric").filter(has_text="MSE").first.wait_for()
    # The pictures are fetched from /media/ of the replica that made them: every one must have loaded.
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')].length >= 3 && "
        "[...document.querySelectorAll('[data-testid=\"stImage\"] img')].every(i => i.complete && i.naturalWidth > 0)"
    )


def _sign_in(page) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Teacher sign-in").click()
    sidebar.get_by_label("Teacher password").fill(PASSWORD)
    sidebar.get_by_role("button", name="Sign in").click()
    sidebar.get_by_role("button", name="Sign out").wait_for()


EPOCHS_BOX = '[data-testid="stSidebar"] [data-testid="stNumberInputField"]'  # the first: Seed comes after it
EPOCHS_ARE = f"n => document.querySelector('{EPOCHS_BOX}')?.value === n"


def _retrain(page, model: str, epochs: int | None = None) -> None:
    """Choose ``model`` (and ``epochs``) in the sidebar; press Retrain separately (see _press_retrain)."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSelectbox").filter(has_text="Model").click()  # the retrain box, not language or data
    page.get_by_role("option", name=model, exact=True).click()
    # Choosing a model replaces the Epochs box ("all models" has an empty one) after a rerun: wait for the model's
    # own, showing its recipe's epochs, or the value would go to the old box and Retrain would train the recipe.
    page.wait_for_function(EPOCHS_ARE, arg=str(TINY_RECIPE.epochs))
    if epochs is not None:
        box = page.locator(EPOCHS_BOX).first
        box.fill(str(epochs))
        box.press("Enter")
        page.wait_for_function(EPOCHS_ARE, arg=str(epochs))


def _press_retrain(page) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name="Retrain").click()


def _outcome(page, model: str, deadline_s: float) -> str:
    """How the sidebar says ``model``'s run ended: "done", "busy" (another process holds its training lock), or
    "failed: <what it says>"."""
    lines = page.get_by_test_id("stSidebar").get_by_text(re.compile(rf"^{re.escape(model)}: "))
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        for text in lines.all_inner_texts():
            if re.match(rf"{re.escape(model)}: test MSE", text):
                return "done"
            if "already being trained by another process" in text:
                return "busy"
            if not re.match(rf"{re.escape(model)}: (epoch|queued)", text):  # a run that failed or was cancelled
                return f"failed: {text}"
        page.wait_for_timeout(250)
    raise AssertionError(f"{model}'s run did not end within {deadline_s} s")


def _epochs_on_compare(page, url: str, model: str) -> str:
    """The epochs cell of ``model``'s row in the Compare page's second table, as that replica serves it now."""
    answer = page.goto(f"{url}/compare")
    assert answer is not None and answer.ok, f"{url}/compare answered {answer and answer.status}"
    page.get_by_role("heading", name="Compare models").wait_for()
    grid = page.get_by_test_id("stDataFrame").nth(1)
    row = grid.locator("table tr").filter(has=page.locator("td", has_text=re.compile(rf"^{model}$")))
    row.first.wait_for(state="attached")  # the grid draws on a canvas; its accessible twin carries the texts
    header = [t.strip() for t in grid.locator("table th").all_inner_texts()]
    cells = row.first.locator("td").all_inner_texts()
    return cells[header.index("epochs") - (len(header) - len(cells))]


def test_a_browser_session_stays_on_its_replica_and_uploads_work_through_the_balancer(cluster, new_page):
    page = new_page()
    answered: list[tuple[str, str | None, int]] = []
    page.on("response", lambda r: answered.append((r.url, r.headers.get(REPLICA), r.status)))
    page.goto(cluster.balancer)
    _upload_and_reconstruct(page)
    page.screenshot(path=ARTIFACTS / "replicas-upload.png", full_page=True)
    server = _server_cookie(page)
    assert server in cluster.replicas, f"HAProxy set no SERVERID cookie: {page.context.cookies()}"
    page.get_by_role("link", name="Compare").click()
    page.get_by_role("heading", name="Compare models").wait_for()
    page.reload()
    page.get_by_role("heading", name="Compare models").wait_for()

    ours = [(u, s, st) for u, s, st in answered if u.startswith(cluster.balancer)]
    assert {s for _, s, _ in ours} == {server}, "some responses came from another replica"
    uploads = [st for u, _, st in ours if "/_stcore/upload_file/" in u]
    media = [st for u, _, st in ours if "/media/" in u]
    assert uploads and all(st < 300 for st in uploads), uploads
    assert len(media) >= 3 and all(st < 300 for st in media), media
    assert _server_cookie(page) == server
    print(f"\none session, {len(ours)} responses, all from {server}: {len(uploads)} upload(s), {len(media)} images")


def test_a_model_retrained_on_one_replica_is_served_by_the_other_within_seconds(cluster, new_page):
    a, b = cluster.replicas["app1"], cluster.replicas["app2"]
    other = new_page()
    assert _epochs_on_compare(other, b, "tiny-linear") == "2"  # the shipped tiny-linear: its recipe's 2 epochs
    teacher = new_page()
    teacher.goto(a)
    _sign_in(teacher)
    # One epoch, not the recipe's two: a seeded retrain with the recipe would give the shipped weights again.
    _retrain(teacher, "tiny-linear", epochs=1)
    _press_retrain(teacher)
    assert _outcome(teacher, "tiny-linear", TRAIN_S) == "done"
    trained = time.monotonic()
    teacher.get_by_test_id("stSidebar").get_by_text(
        re.compile(r"^tiny-linear: test MSE .* after 1 epochs")
    ).first.wait_for()
    assert cluster.checkpoint("tiny-linear").exists()
    while (seen := _epochs_on_compare(other, b, "tiny-linear")) != "1":
        assert time.monotonic() - trained < 30, f"replica app2 still serves {seen} epochs after 30 s"
    lag = time.monotonic() - trained
    other.screenshot(path=ARTIFACTS / "replicas-retrained-on-the-other.png", full_page=True)
    print(f"\nretrained through app1; app2's Compare page showed it {lag:.1f} s later (page load included)")


def test_two_replicas_asked_to_retrain_the_same_model_at_once_train_it_once(cluster, new_page):
    sidecar = cluster.checkpoint("tiny-conv")
    assert not sidecar.exists()
    pages = {}
    for name, url in cluster.replicas.items():
        pages[name] = new_page()
        pages[name].goto(url)
        _sign_in(pages[name])
        _retrain(pages[name], "tiny-conv")
    # Every write of the checkpoint, as its sidecar's (inode, mtime) seen every 20 ms: checkpoints are written to
    # a temporary file and renamed, so each write is a new inode.
    writes: set[tuple[int, int]] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                st = sidecar.stat()
                writes.add((st.st_ino, st.st_mtime_ns))
            except FileNotFoundError:
                pass
            stop.wait(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        t0 = time.monotonic()
        for page in pages.values():  # both presses within a fraction of a second; a tiny-conv run takes seconds
            _press_retrain(page)
        pressed = time.monotonic() - t0
        outcomes = {name: _outcome(page, "tiny-conv", TRAIN_S) for name, page in pages.items()}
    finally:
        stop.set()
        watcher.join(5)
    for name, page in pages.items():
        page.screenshot(path=ARTIFACTS / f"replicas-race-{name}.png", full_page=True)
    assert sorted(outcomes.values()) == ["busy", "done"], outcomes
    assert len(writes) == 1, f"the checkpoint was written {len(writes)} times"
    print(f"\nboth pressed within {pressed:.2f} s: {outcomes}; the checkpoint was written once")


def test_a_replica_killed_mid_lesson_sends_its_browser_to_the_other_and_nothing_is_lost(cluster, new_page):
    if not cluster.checkpoint("tiny-linear").exists():  # run alone: retrain it as the test above does
        from ae.data.mnist import load_mnist
        from ae.training.runs import train_and_save
        from tests.tiny import TINY_LINEAR

        train_and_save(TINY_LINEAR, load_mnist(), directory=cluster.home / "checkpoints", epochs=1)
    page = new_page()
    page.goto(cluster.balancer)  # a student at work: a picture uploaded and reconstructed on their replica
    _upload_and_reconstruct(page)
    victim = _server_cookie(page)
    assert victim in cluster.replicas
    survivor = next(n for n in cluster.replicas if n != victim)
    cluster.procs[victim].kill()  # no goodbye, as a crashed process or a pulled plug
    cluster.procs[victim].wait(15)
    t0 = time.monotonic()
    documents: list[str | None] = []  # which replica served each page load from here on
    page.on("response", lambda r: r.request.is_navigation_request() and documents.append(r.headers.get(REPLICA)))
    # The student reloads (here, onto the Compare page): the workspace's retrained tiny-linear, not the shipped one.
    assert _epochs_on_compare(page, cluster.balancer, "tiny-linear") == "1"
    back = time.monotonic() - t0
    assert documents and documents[-1] == survivor
    assert _server_cookie(page) == survivor  # HAProxy re-pinned the browser to the replica that answered
    page.goto(cluster.balancer)  # and the lesson goes on there: an upload and its pictures work
    _upload_and_reconstruct(page)
    assert _server_cookie(page) == survivor
    page.screenshot(path=ARTIFACTS / "replicas-after-kill.png", full_page=True)
    print(f"\nkilled {victim}; the reload was served by {survivor} {back:.1f} s later, with the retrained model")
