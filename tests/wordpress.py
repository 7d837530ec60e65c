"""A real WordPress for the tests: Debian's ``wordpress`` package served by ``php -S``, its
database on a MariaDB server started on a temp datadir and socket, configured the Debian way
(``/etc/wordpress/config-<host>.php``), with its content (plugins, mu-plugins) in a temp dir.

Each run serves WordPress on its own loopback address (127.x.y.z), so its config file name is
unique and concurrent runs on one machine do not share a configuration; the file is removed
when the run ends. Every daemon is stopped by PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

WORDPRESS_DIR = Path("/usr/share/wordpress")
CONFIG_DIR = Path("/etc/wordpress")
THEMES_DIR = WORDPRESS_DIR / "wp-content" / "themes"
PLUGIN_DIR = Path(__file__).resolve().parent.parent / "integrations" / "wordpress" / "moderation-service"
PLUGIN_FILE = "moderation-service/moderation-service.php"
AKISMET_MU_PLUGIN = PLUGIN_DIR.parent / "moderation-akismet.php"
AKISMET_PLUGIN_DIR = WORDPRESS_DIR / "wp-content" / "plugins" / "akismet"
ADMIN_USER = "admin"
START_TIMEOUT = 60.0
# php -S processes requests one at a time unless it forks workers: "Test the connection" waits
# for the service, which meanwhile posts a test event to this same WordPress, and webhooks
# arrive while wp-admin requests run, as on a real server.
PHP_WORKERS = 4

# Test-only must-use plugin: the visitor's address comes from a header, so each test comment
# can come from its own address (WordPress's flood check keys on it), unsent comments are retried
# at the next WP-Cron run, and a comment whose text
# contains REFUSE-AFTER-CHECK is refused by a filter running after the moderation plugin's
# (what another plugin, or a failed insert, does to a comment the service already has).
_TEST_MU_PLUGIN = r"""<?php
if ( isset( $_SERVER['HTTP_X_TEST_VISITOR_IP'] ) ) {
	$_SERVER['REMOTE_ADDR'] = $_SERVER['HTTP_X_TEST_VISITOR_IP'];
}
// Comments the service could not take are sent again by the next WP-Cron run, not 5 minutes on.
add_filter( 'moderation_service_retry_delay', '__return_zero' );
// A visitor waits 2 s for the service here (5 s by default): the timeout test is shorter.
add_filter( 'moderation_service_submit_timeout', function () { return 2; } );
// Akismet's plugin rechecks comments held during an outage 20 minutes later: at the next run here.
add_filter( 'schedule_event', function ( $event ) {
	if ( $event && 'akismet_schedule_cron_recheck' === $event->hook ) {
		$event->timestamp = time() - 1;
	}
	return $event;
} );
add_filter( 'pre_comment_approved', function ( $approved, $commentdata ) {
	if ( false !== strpos( wp_unslash( $commentdata['comment_content'] ), 'REFUSE-AFTER-CHECK' ) ) {
		return new WP_Error( 'refused_by_test', 'Refused after the moderation check.', 403 );
	}
	return $approved;
}, 1000, 2 );
"""


def binary(name: str) -> str:
    # mariadbd is in /usr/sbin, which a non-root PATH may lack.
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if found is None:
        raise FileNotFoundError(name)
    return found


def require_binaries() -> None:
    missing = []
    for name in ("php", "mariadbd", "mariadb-install-db", "mariadb"):
        try:
            binary(name)
        except FileNotFoundError:
            missing.append(name)
    if missing or not (WORDPRESS_DIR / "wp-comments-post.php").exists():
        pytest.fail(
            "WordPress test needs Debian's wordpress, php-cli, php-mysql, php-xml and mariadb-server "
            f"(missing: {', '.join(missing) or 'wordpress'}); `make test-wordpress` installs them"
        )


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _wait_for_socket(family: int, address: str | tuple[str, int], process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect(address)
                return
        except OSError:
            time.sleep(0.05)  # polling a child process to come up, not synchronising test logic
    raise RuntimeError(f"{what} did not start")


def stop(process: subprocess.Popen[bytes], *, group: bool = False) -> None:
    """Stop a daemon we started, by its PID (``group``: and the workers it forked, by the
    process group it leads, which it got from start_new_session)."""

    def signal_it(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)

    if process.poll() is None or group:
        signal_it(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            signal_it(signal.SIGKILL)
            process.wait(timeout=10)


@dataclass
class MariaDB:
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def socket(self) -> Path:
        return self.directory / "mysqld.sock"

    def sql(self, query: str, database: str = "wordpress") -> list[list[str]]:
        """Rows of a query, run with the `mariadb` client as root over the socket."""
        out = subprocess.run(
            # utf8mb4 both ways, as WordPress talks to its database: Vietnamese text in a query
            # or a row is the same characters on both sides.
            [binary("mariadb"), "--no-defaults", "--default-character-set=utf8mb4", "-S", str(self.socket),
             "-u", "root", "-N", "-B", "-e", query, database],
            check=True,
            capture_output=True,
            timeout=30,
        ).stdout.decode("utf-8")
        return [line.split("\t") for line in out.splitlines()]


@contextlib.contextmanager
def mariadb(directory: Path) -> Iterator[MariaDB]:
    data = directory / "data"
    data.mkdir()
    user = getpass.getuser()
    subprocess.run(
        [binary("mariadb-install-db"), "--no-defaults", f"--datadir={data}", f"--user={user}",
         "--auth-root-authentication-method=normal", "--skip-test-db"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = open(directory / "mariadbd.log", "wb")  # closed below, after the daemon
    process = subprocess.Popen(
        [binary("mariadbd"), "--no-defaults", f"--datadir={data}", f"--socket={directory / 'mysqld.sock'}",
         f"--pid-file={directory / 'mariadbd.pid'}", "--skip-networking", f"--user={user}",
         # A throwaway database: no fsync per commit, no doublewrite (WordPress's installer
         # creates a dozen tables and writes a few hundred rows).
         "--innodb-buffer-pool-size=32M", "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0",
         "--innodb-doublewrite=0", "--innodb-flush-method=nosync"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = MariaDB(directory, process)
    try:
        _wait_for_socket(socket.AF_UNIX, str(server.socket), process, "mariadbd")
        yield server
    finally:
        stop(process)
        log.close()


@dataclass
class WordPress:
    host: str
    port: int
    db: MariaDB
    content: Path
    admin_password: str = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def events_url(self) -> str:
        # Plain permalinks (php -S has no rewrites): what rest_url() gives, and the settings screen shows.
        return f"{self.url}/index.php?rest_route=/moderation/v1/events"

    def comment_status(self, comment_id: int) -> str:
        """wp_comments.comment_approved: '1', '0', 'spam' or 'trash'."""
        rows = self.db.sql(f"SELECT comment_approved FROM wp_comments WHERE comment_ID = {int(comment_id)}")
        return rows[0][0] if rows else "missing"

    def comment_meta(self, comment_id: int, key: str) -> str | None:
        rows = self.db.sql(
            f"SELECT meta_value FROM wp_commentmeta WHERE comment_id = {int(comment_id)} AND meta_key = '{key}'"
        )
        return rows[0][0] if rows else None

    def comments_with(self, text: str) -> list[int]:
        escaped = text.replace("\\", "\\\\").replace("'", "\\'")
        rows = self.db.sql(f"SELECT comment_ID FROM wp_comments WHERE comment_content LIKE '%{escaped}%'")
        return [int(r[0]) for r in rows]

    def set_option(self, name: str, value: str) -> None:
        self.db.sql(f"UPDATE wp_options SET option_value = '{value}' WHERE option_name = '{name}'")


def _loopback_host() -> str:
    """A 127.x.y.z address whose Debian config file does not exist yet."""
    rng = random.SystemRandom()
    for _ in range(100):
        host = f"127.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}.{rng.randrange(2, 255)}"
        if not (CONFIG_DIR / f"config-{host}.php").exists():
            return host
    raise RuntimeError("no free loopback address for WordPress")


@contextlib.contextmanager
def wordpress(directory: Path, extra_config: str = "", *, akismet: bool = False) -> Iterator[WordPress]:
    """MariaDB + Debian's WordPress under `php -S` (not installed yet: the caller runs the
    installer). ``extra_config`` is PHP appended to config-<host>.php. ``akismet``: Debian's
    Akismet plugin (to activate) and the must-use plugin that sends its calls to the service,
    instead of the moderation-service plugin."""
    require_binaries()
    db_password = secrets.token_hex(12)
    (directory / "mariadb").mkdir()
    with mariadb(directory / "mariadb") as db:
        db.sql(
            "CREATE DATABASE wordpress DEFAULT CHARACTER SET utf8mb4; "
            f"CREATE USER 'wordpress'@'localhost' IDENTIFIED BY '{db_password}'; "
            "GRANT ALL ON wordpress.* TO 'wordpress'@'localhost';",
            database="mysql",
        )
        content = directory / "wp-content"
        for sub in ("plugins", "mu-plugins", "uploads"):
            (content / sub).mkdir(parents=True)
        (content / "themes").symlink_to(THEMES_DIR)
        if akismet:
            (content / "plugins" / "akismet").symlink_to(AKISMET_PLUGIN_DIR)
            shutil.copy(AKISMET_MU_PLUGIN, content / "mu-plugins" / AKISMET_MU_PLUGIN.name)
        else:
            shutil.copytree(PLUGIN_DIR, content / "plugins" / PLUGIN_DIR.name)
        (content / "mu-plugins" / "test-visitor.php").write_text(_TEST_MU_PLUGIN)
        host = _loopback_host()
        port = free_port(host)
        config = CONFIG_DIR / f"config-{host}.php"
        CONFIG_DIR.mkdir(exist_ok=True)
        config.write_text(
            "<?php\n"
            "define('DB_NAME', 'wordpress');\n"
            "define('DB_USER', 'wordpress');\n"
            f"define('DB_PASSWORD', '{db_password}');\n"
            f"define('DB_HOST', 'localhost:{db.socket}');\n"
            # As wp-config-sample.php has it: without it WordPress talks latin1 to MariaDB.
            "define('DB_CHARSET', 'utf8mb4');\n"
            f"define('WP_CONTENT_DIR', '{content}');\n"
            # The run may reach only loopback: no update checks, no cron requests to itself.
            "define('WP_HTTP_BLOCK_EXTERNAL', true);\n"
            "define('WP_ACCESSIBLE_HOSTS', '127.0.0.1');\n"
            "define('DISABLE_WP_CRON', true);\n"
            "define('AUTOMATIC_UPDATER_DISABLED', true);\n" + extra_config
        )
        log = open(directory / "php.log", "wb")  # closed below, after the daemon
        php: subprocess.Popen[bytes] | None = None
        try:
            php = subprocess.Popen(
                [binary("php"), "-S", f"{host}:{port}", "-t", str(WORDPRESS_DIR)],
                cwd=directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PHP_CLI_SERVER_WORKERS": str(PHP_WORKERS)},
                # Its own process group: the forked workers are stopped with it (stop()).
                start_new_session=True,
            )
            _wait_for_socket(socket.AF_INET, (host, port), php, "php -S")
            yield WordPress(host, port, db, content, secrets.token_urlsafe(18))
        finally:
            if php is not None:
                stop(php, group=True)
            log.close()
            config.unlink(missing_ok=True)


def action_link(html: str, action: str, comment_id: int) -> str:
    """The href of a comment row's action link (approvecomment, spamcomment, unspamcomment …)."""
    pattern = re.compile(
        rf'href="(comment\.php\?c={comment_id}&(?:amp;|#038;)?action={action}&(?:amp;|#038;)?_wpnonce=[0-9a-f]+)"'
    )
    match = pattern.search(html)
    if match is None:
        raise AssertionError(f"no {action} link for comment {comment_id}")
    return match.group(1).replace("&amp;", "&").replace("&#038;", "&")


class ServiceProxy:
    """What WordPress calls instead of the service: passes bytes through, or plays an outage.

    ``down()``: every connection is closed at once (WordPress gets no answer, as with a stopped
    service). ``slow()``: the request reaches the service, which answers, but the answer is held
    back until WordPress has given up and closed the connection (``gave_up`` is set), as with a
    service that answers after the plugin's timeout. ``up()``: pass everything again.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode = "up"
        self.server: asyncio.Server | None = None
        self.gave_up = asyncio.Event()
        self.answered = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def up(self) -> None:
        self.mode = "up"

    def down(self) -> None:
        self.mode = "down"

    def slow(self) -> None:
        self.mode = "slow"
        self.gave_up.clear()
        self.answered.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self.mode == "down":
                writer.close()
                return
            mode = self.mode
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            if mode == "slow":
                await self._slow(reader, writer, up_reader, up_writer)
            else:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (ConnectionError, OSError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(OSError):
                writer.close()

    async def _slow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        async def swallow() -> None:
            # The service's answer arrives and is kept from WordPress.
            if await up_reader.read(65536):
                self.answered.set()
            while await up_reader.read(65536):
                pass

        swallowing = asyncio.create_task(swallow())
        try:
            await _pipe(reader, up_writer)  # ends when WordPress closes its side (its timeout)
            self.gave_up.set()
        finally:
            await swallowing


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


async def install(wp: WordPress, admin: aiohttp.ClientSession) -> None:
    """WordPress's own installer (wp-admin/install.php), then the admin's login in ``admin``."""
    async with admin.post(
        f"{wp.url}/wp-admin/install.php?step=2",
        data={
            "weblog_title": "Báo Tỉnh",
            "user_name": ADMIN_USER,
            "admin_password": wp.admin_password,
            "admin_password2": wp.admin_password,
            "pw_weak": "1",
            "admin_email": "admin@example.vn",
            "blog_public": "0",
            "language": "",
        },
    ) as resp:
        text = await resp.text()
        assert resp.status == 200 and "Success!" in text, text[-2000:]
    async with admin.get(f"{wp.url}/wp-login.php"):
        pass  # sets WordPress's test cookie, which the login form requires
    async with admin.post(
        f"{wp.url}/wp-login.php",
        data={"log": ADMIN_USER, "pwd": wp.admin_password, "testcookie": "1",
              "redirect_to": f"{wp.url}/wp-admin/", "wp-submit": "Log In"},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 302, await resp.text()


async def activate(wp: WordPress, admin: aiohttp.ClientSession, plugin_file: str) -> None:
    """Click the plugin's Activate link on the Plugins screen."""
    async with admin.get(f"{wp.url}/wp-admin/plugins.php") as resp:
        plugins = await resp.text()
    slug = re.escape(plugin_file.split("/")[0])
    match = re.search(rf'href="(plugins\.php\?action=activate&(?:amp;)?plugin={slug}[^"]+)"', plugins)
    assert match, f"{plugin_file} is not listed on the Plugins screen"
    async with admin.get(f"{wp.url}/wp-admin/{match.group(1).replace('&amp;', '&')}") as resp:
        assert resp.status == 200
    active = wp.db.sql("SELECT option_value FROM wp_options WHERE option_name = 'active_plugins'")
    assert plugin_file in active[0][0]


def hidden_fields(html: str, form_marker: str) -> dict[str, str]:
    """The hidden inputs of the form whose tag contains ``form_marker`` (nonces, action …)."""
    start = html.index(form_marker)
    form = html[start : html.index("</form>", start)]
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        attrs = dict(re.findall(r"""(\w+)=["']([^"']*)["']""", tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields
