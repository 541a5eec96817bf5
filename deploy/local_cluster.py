"""Run the dashboard as N replicas behind nginx on this machine, with the same nginx config as
deploy/compose.yaml: `python deploy/local_cluster.py --replicas 2 --port 8080`. Needs only Debian's
nginx (`apt-get install -y nginx-light`) and this project's Python packages. Ctrl-C stops them all.

The replicas listen on loopback ports port+1 … port+N and share one cookie secret (Streamlit's XSRF
cookie must verify on whichever replica a request reaches); nginx keeps each visitor on one replica
with a cookie of its own (see deploy/nginx.conf.template)."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"


def nginx_config(port: int, replica_ports: list[int]) -> str:
    """The shared template with this cluster's listen port and replicas filled in."""
    upstreams = "\n    ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in replica_ports)
    return TEMPLATE.read_text().replace("${STREAMLIT_UPSTREAMS}", upstreams).replace("${PROXY_PORT}", str(port))


def free_port_block(size: int) -> int:
    """A port p with p … p + size free on loopback (a cluster's proxy and its replicas)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            start = probe.getsockname()[1]
        if start + size < 65535 and all(_free(start + i) for i in range(size + 1)):
            return start
    raise RuntimeError("no block of free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for(url: str, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process serving it exited with code {process.returncode}")
        try:
            if urllib.request.urlopen(url, timeout=2).read() == b"ok":
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 'ok' within {seconds:g} s")


class Cluster:
    """N Streamlit servers and one nginx, started together and stopped together."""

    def __init__(self, replicas: int, port: int, extra_args: tuple[str, ...] = ()):
        if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
            raise SystemExit("nginx is not installed: apt-get update && apt-get install -y nginx-light")
        self.port, self.replica_ports = port, [port + 1 + i for i in range(replicas)]
        self.extra_args = extra_args
        self.processes: list[subprocess.Popen] = []
        self.folder = Path(tempfile.mkdtemp(prefix="cgl-cluster-"))

    def start(self) -> "Cluster":
        secret = secrets.token_hex(32)  # one for all replicas
        try:
            for replica_port in self.replica_ports:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "streamlit", "run", "server.py", "--server.headless", "true",
                     "--server.port", str(replica_port), "--server.address", "127.0.0.1", *self.extra_args],
                    # Streamlit takes the cookie secret from the environment or a config file only.
                    cwd=ROOT, env={**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": secret},
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for replica_port, process in zip(self.replica_ports, self.processes):
                wait_for(f"http://127.0.0.1:{replica_port}/_stcore/health", 90, process)
            config = self.folder / "nginx.conf"
            config.write_text(nginx_config(self.port, self.replica_ports))
            nginx = shutil.which("nginx") or "/usr/sbin/nginx"
            self.processes.append(subprocess.Popen(
                [nginx, "-p", str(self.folder), "-c", str(config),
                 "-g", f"daemon off; pid {self.folder / 'nginx.pid'}; error_log {self.folder / 'error.log'};"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_for(f"http://127.0.0.1:{self.port}/_stcore/health", 30, self.processes[-1])
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def replicas(self) -> list[subprocess.Popen]:
        return self.processes[:len(self.replica_ports)]

    def replica_of(self, cookie: str) -> int:
        """Which replica nginx sends a visitor with this Cookie header to (its X-Replica header)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/_stcore/health", headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            return self.replica_ports.index(int(response.headers["X-Replica"].rsplit(":", 1)[1]))

    def stop_replica(self, index: int) -> None:
        """End one replica, as a crash would (for the tests of what a visitor then sees)."""
        self.processes[index].kill()
        self.processes[index].wait(timeout=10)

    def stop(self) -> None:
        for process in reversed(self.processes):  # nginx first: no new requests reach a dying replica
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    cluster = Cluster(args.replicas, args.port).start()
    print(f"http://127.0.0.1:{args.port} -> {len(cluster.replica_ports)} replicas on ports "
          f"{', '.join(map(str, cluster.replica_ports))}; Ctrl-C stops them all", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(process.poll() is None for process in cluster.processes):
            time.sleep(1)
        print("a process of the cluster exited; stopping the others", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
