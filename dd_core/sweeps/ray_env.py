"""Ray for a sweep: the install hint when it is missing, the reachability check of ``--address``, a local Ray started
(and shut down) by the command, and the check that some node can hold a trial's resources."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError, DDError
from .resources import machine_cpus

INSTALL = "pip install 'ray>=2.40,<3'"
CONNECT_TIMEOUT_S = 3.0  # the TCP check of --address
GCS_WAIT_S = 5  # Ray's own attempts (about 1 s each) to reach the cluster's GCS: < 10 s in all with the TCP check
GCS_WAIT_ENV = "RAY_gcs_server_port_wait_time_s"


class RayError(DDError):
    """Ray is missing, or the cluster cannot be reached / cannot run a trial; the message says what to do."""


def require_ray():
    """The ``ray`` module, or RayError with the command that installs it."""
    try:
        import ray
    except ImportError:
        raise RayError(f"sweeps run on Ray, which is not installed; install it with `{INSTALL}`") from None
    return ray


def host_port(address: str) -> tuple[str, int] | None:
    """``HOST:PORT`` or ``ray://HOST:PORT`` → (host, port); None for ``auto``. Anything else is refused."""
    if address == "auto":
        return None
    rest = address[len("ray://") :] if address.startswith("ray://") else address
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"--address {address!r}: use auto, HOST:PORT (e.g. 10.0.0.5:6379) or ray://HOST:PORT (Ray Client, "
            "port 10001)",
            field="address",
        )
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """RayError naming ``address`` and the fix when nothing answers there within ``timeout`` seconds."""
    hp = host_port(address)
    if hp is None:
        return
    try:
        with socket.create_connection(hp, timeout=timeout):
            pass
    except OSError as err:
        raise RayError(unreachable(address, err.strerror or type(err).__name__)) from None


def unreachable(address: str, reason: str) -> str:
    if "auth" in reason.lower() or "token" in reason.lower():
        return (
            f"the Ray cluster at {address} refused this machine's token ({reason}); copy the head's token here: run "
            "`ray get-auth-token` on the head and put it in ~/.ray/auth_token (or set RAY_AUTH_TOKEN)"
        )
    return (
        f"cannot reach a Ray cluster at {address} ({reason}); start one there (`ray start --head` on that machine), "
        "check the address and port (HOST:6379, or ray://HOST:10001 for Ray Client), or leave out --address to run "
        "the sweep on a local Ray"
    )


@contextmanager
def ray_session(address: str | None, *, dashboard: bool = False, num_cpus: int | None = None) -> Iterator[str]:
    """Connect to the cluster at ``address``, or start a local Ray (``num_cpus``, Ray's dashboard only with
    ``dashboard``); yields the address in use. A Ray already initialised in this process is used as it is. What this
    started is shut down on exit (no Ray process is left behind)."""
    ray = require_ray()
    if address:
        check_reachable(address)
    if ray.is_initialized():
        yield current_address(ray, address)
        return
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR, "configure_logging": False}
    if address:
        root = Path(__file__).resolve().parents[1]
        previous = os.environ.get(GCS_WAIT_ENV)
        os.environ[GCS_WAIT_ENV] = str(GCS_WAIT_S)
        env = {"py_modules": [str(root)]}  # the engine travels with the job: the nodes need only PyTorch and Ray
        try:
            try:
                ray.init(address=address, runtime_env=env, **quiet)
            except (ConnectionError, TimeoutError, RuntimeError):
                if not use_token_if_any():
                    raise
                ray.shutdown()
                ray.init(address=address, runtime_env=env, **quiet)  # a cluster with token authentication
        except (ConnectionError, TimeoutError, RuntimeError) as err:
            raise RayError(unreachable(address, str(err).splitlines()[0] if str(err) else type(err).__name__)) from None
        finally:
            if previous is None:
                os.environ.pop(GCS_WAIT_ENV, None)
            else:
                os.environ[GCS_WAIT_ENV] = previous
    else:
        # "local": always a new Ray of this machine (never RAY_ADDRESS or a cluster `ray start` left running here)
        ray.init(address="local", num_cpus=num_cpus or machine_cpus(), include_dashboard=dashboard, **quiet)
    try:
        yield current_address(ray, address)
    finally:
        ray.shutdown()


def use_token_if_any() -> bool:
    """Turn on Ray's token authentication, as ``ray start --address`` does, when ``RAY_AUTH_MODE`` is unset and this
    machine has a token (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``); True when it did. Since
    Ray 2.59 ``ray start --head`` creates a token and requires it, but ``ray.init(address=...)`` never sends it
    unless told: a first connection refused is retried with it (not first: a cluster without authentication then
    fails its actors)."""
    if os.environ.get("RAY_AUTH_MODE") is not None:
        return False
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token authentication
        return False
    return bool(maybe_enable_token_auth_if_token_available(warn_if_disabled=False))


def current_address(ray, given: str | None = None) -> str:
    """The GCS address of the cluster in use (the one given, when Ray Client does not tell)."""
    try:
        return str(ray.get_runtime_context().gcs_address)
    except Exception:  # noqa: BLE001 - only informative
        return given or "local"


def check_feasible(ray, cpus: float, gpus: float) -> None:
    """RayError unless some alive node offers ``cpus`` CPUs and ``gpus`` GPUs (else the trials would wait forever)."""
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    if any(r.get("CPU", 0) >= cpus and r.get("GPU", 0) >= gpus for r in nodes):
        return
    have = ", ".join(f"{r.get('CPU', 0):g} CPUs / {r.get('GPU', 0):g} GPUs" for r in nodes) or "no alive node"
    raise RayError(
        f"no Ray node can run a trial of {cpus:g} CPUs and {gpus:g} GPUs (nodes: {have}); lower --cpus-per-trial / "
        "--gpus-per-trial"
    )
