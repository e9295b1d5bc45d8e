"""The benchmark table: every figure's row, the study's figure beside it and the target;
as Markdown for BENCHMARKS.md, and a plot of latency and memory against plugin count."""

from __future__ import annotations

import platform
from pathlib import Path

import psutil

from . import replay_bench, shadow_bench
from .scaling_bench import COUNTS, STUDY

ROWS = [
    # key, label, field, unit, study figure, target
    ("load_ms", "plugin load via the pool, per plugin", "median", "ms", "30-80 ms import (+50-100 ms discovery)",
     "<= 1 ms"),
    ("load_inprocess_ms", "  of which runtime + prelude + compile + chunk", "median", "ms", "", ""),
    ("hook_us", "hook round trip (host, worker, Lua, back)", "median", "us", "5-10 ms", "<= 50 us"),
    ("ipc_floor_us", "  floor: a bare request to the worker and back", "median", "us", "", ""),
    ("hook_with_host_call_us", "the same with one host-function call inside", "median", "us", "", ""),
    ("pairs_10_us", "a hook walking a 10-key table with pairs (in process, Lua alone)", "median", "us", "", ""),
    ("next_10_us", "  the same walk with next (Lua's own order), runs alternated", "median", "us", "", ""),
    ("pairs_1000_us", "a hook walking a 1,000-key table with pairs (in process, Lua alone)", "median", "us", "", ""),
    ("next_1000_us", "  the same walk with next (Lua's own order), runs alternated", "median", "us", "", ""),
    ("memory_per_plugin_kb", "memory per loaded plugin (worker RSS)", None, "KB", "10-15 MB", "<= 200 KB"),
    ("lua_heap_per_plugin_kb", "  Lua heap per plugin", None, "KB", "", ""),
    ("replace_ms", "hung worker replaced, after its deadline", "median", "ms", "restart", "<= 100 ms"),
    ("submit_to_broker_10_ms", "engine.submit to the broker call, 10 plugins (on_alert + on_order)", "median", "ms",
     "650 ms per alert at 10 plugins", "median <= 1 ms, p99 <= 5 ms"),
    ("submit_durable_10_ms", "  engine.submit returning: the alert journaled, fsync done (same run)", "median", "ms",
     "", ""),
    ("commit_floor_ms", "  floor: one row committed with WAL + synchronous=FULL, on the loop", "median", "ms", "", ""),
    ("commit_floor_thread_ms", "  the same commit through a thread, as the journal writer does", "median", "ms",
     "", ""),
    ("submit_to_broker_1000_ms", "the same, 1,000 plugins loaded, 10 concerned", "median", "ms", "not reached",
     "<= 1.25 x the 10-plugin median"),
    ("submit_1000_over_10", "  ratio of the two medians (same run)", None, "x", "", "<= 1.25"),
    ("engine_rss_10_mb", "bench process resident memory (engine, workers, the harness), 10 plugins", None, "MB",
     "500 MB", "<= 120 MB"),
    ("engine_rss_1000_mb", "the same, 1,000 plugins", None, "MB", "not reached", "<= 400 MB"),
    ("engine_start_ms_per_plugin_1000", "engine start with 1,000 plugins, per plugin", None, "ms",
     "80-180 ms", ""),
    ("webhook_bare_rps", "webhook under wrk -t1 -c8: a bare quart-trio endpoint", None, "req/s", "", ""),
    ("webhook_moonhook_rps", "  moonhook, 10 plugins, each alert journaled and answered", None, "req/s", "", ""),
    ("webhook_ratio", "  alerts answered a second, over the bare endpoint's requests a second (same run, "
     "alternated)", None, "x", "", ">= 0.8"),
    ("webhook_processed_rps", "  of those, executed during the run (the rest queued, done after)", None,
     "alerts/s", "", ""),
    ("webhook_executed_over_bare", "  alerts executed a second during the run, over the bare endpoint's requests "
     "a second (same run)", None, "x", "", ">= 0.5"),
    ("webhook_answer_at_200_ms", "webhook answer at a steady 200 alerts/s", "median", "ms", "", "p99 <= 10 ms"),
    ("receipt_to_broker_200_ms", "  the same alerts, 10 plugins: the server's receipt to the broker call",
     "median", "ms", "", "p50 <= floor + 0.5 ms"),
    ("receipt_commit_floor_ms", "  floor: one row committed with WAL + synchronous=FULL (same run)", None, "ms",
     "", ""),
    ("receipt_to_broker_200_p50_target", "  p50 against the floor + 0.5 ms", None, "", "",
     "p50 <= floor + 0.5 ms"),
    ("receipt_to_broker_200_p99_ms", "  receipt to broker call, p99", None, "ms", "", "<= 5 ms"),
    ("reload_save_to_served_ms", "hot reload, 10 plugins: file saved (temp file + rename) to the first alert "
     "the new version serves", "median", "ms", "restart (seconds; alerts dropped meanwhile)", "median <= 100 ms"),
    ("reload_save_to_served_write_ms", "  the same, the file written in place", "median", "ms", "", "median <= 100 ms"),
    ("reload_served_resolution_ms",
     "  resolution: the last old-version alert submitted this long before the first new one", "median", "ms", "", ""),
    ("reload_first_alert_latency_ms", "  the first new-version alert, its receipt to its broker call", "median", "ms",
     "", ""),
    ("reload_saves_not_served", "  saves whose version served no alert within 5 s", None, "", "", "0"),
    ("reload_alerts_submitted", "100 reloads at 200 alerts/s: alerts submitted", None, "",
     "restart (seconds; alerts dropped meanwhile)", ""),
    ("reload_alerts_done", "  done", None, "", "", ""),
    ("reload_alerts_lost", "  lost (no journal entry of their own)", None, "", "", "0 lost, 0 failed"),
    ("reload_alerts_failed", "  failed, or any status but done", None, "", "", "0 lost, 0 failed"),
    ("reload_alerts_inconsistent", "  not served by exactly one whole version (half-loaded)", None, "", "", "0"),
    ("reload_versions_served", "  versions that served alerts (101 saved, the first included)", None, "", "", ""),
    ("reload_target_100_at_200", "  no alert lost, failed or half-served", None, "", "", "0 lost, 0 failed"),
    ("telegram_1_bot_msgs", "Telegram delivery, 1 bot, 40 chats, sustained (after 3 s)", None, "msg/s", "",
     "close to 30"),
    ("telegram_1_bot_429", "  429 answers meanwhile", None, "", "", "0"),
    ("telegram_3_bots_msgs", "the same, 3 bots", None, "msg/s", "", "close to 90"),
    ("telegram_3_bots_429", "  429 answers meanwhile", None, "", "", "0"),
    ("telegram_3_over_1", "  ratio 3 bots / 1 bot", None, "x", "", "close to 3"),
    ("telegram_hang_without_ms", "submit to broker, 10 plugins, without Telegram (alternated)", None, "ms", "", ""),
    ("telegram_hang_ms", "  the same while Telegram hangs (every send held unanswered)", None, "ms", "", ""),
    ("telegram_hang_ratio", "  ratio hanging / without (median of alternated rounds)", None, "x", "", "<= 1.05"),
    ("e2e_1_ms", "alert over HTTP, POST to the paper fill: 1 plugin", "median", "ms",
     "380 ms / 210 MB", ""),
    ("e2e_1_rss_mb", "  resident memory (engine and workers)", None, "MB", "", ""),
    ("e2e_3_ms", "alert over HTTP, POST to the paper fill: 3 plugins", "median", "ms",
     "420 ms / 280 MB", ""),
    ("e2e_3_rss_mb", "  resident memory (engine and workers)", None, "MB", "", ""),
    ("e2e_5_ms", "alert over HTTP, POST to the paper fill: 5 plugins", "median", "ms",
     "480 ms / 350 MB", ""),
    ("e2e_5_rss_mb", "  resident memory (engine and workers)", None, "MB", "", ""),
    ("e2e_10_ms", "alert over HTTP, POST to the paper fill: 10 plugins", "median", "ms",
     "650 ms / 500 MB", ""),
    ("e2e_10_rss_mb", "  resident memory (engine and workers)", None, "MB", "", ""),
    ("e2e_20_ms", "alert over HTTP, POST to the paper fill: 20 plugins", "median", "ms",
     "1,200 ms / 800 MB", ""),
    ("e2e_20_rss_mb", "  resident memory (engine and workers)", None, "MB", "", ""),
    ("e2e_100_ms", "alert over HTTP, POST to the paper fill: 100 plugins, 10 concerned", "median", "ms",
     "not reached", ""),
    ("e2e_100_rss_mb", "  resident memory (engine and workers)", None, "MB", "", ""),
    ("e2e_1000_ms", "alert over HTTP, POST to the paper fill: 1000 plugins, 10 concerned", "median", "ms",
     "not reached", ""),
    ("e2e_1000_rss_mb", "  resident memory (engine and workers)", None, "MB", "", ""),
    ("cpu_idle_pct", "idle CPU, 10 plugins loaded, nothing arriving (engine and workers; the bench's server: "
     "no file watcher)", None, "% of a core", "2-5 %", "<= 0.5 %"),
    ("cpu_idle_run_pct", "idle CPU of `moonhook run` as a user starts it (`moonhook init`, 1 plugin, scripts/ "
     "and moonhook.toml watched, monitor on; engine and workers)", None, "% of a core", "", "<= 0.3 %"),
    ("cpu_idle_run_workers_pct", "  of which the sandbox workers", None, "% of a core", "", ""),
    ("cpu_active_100_pct", "CPU at 100 alerts/s over HTTP, 10 plugins (engine and workers)", None, "% of a core",
     "15-30 %", ""),
    ("cpu_active_workers_pct", "  of which the sandbox workers", None, "% of a core",
     "", ""),
    ("cpu_per_alert_ms", "CPU per executed alert at 100 alerts/s over HTTP, 10 plugins (engine and workers)",
     None, "ms", "", "<= 1.5 ms"),
    ("cpu_per_alert_workers_ms", "  of which the sandbox workers", None, "ms", "", "<= 0.3 ms"),
    ("wake_us", "  machine floor: process CPU of one sleep/wake cycle (a 10 ms sleep; a fresh process)", None, "us",
     "", ""),
    ("worker_fold_hot_us", "  the sandbox worker's work for one alert, 10 plugins (on_alert and on_order folds, "
     "in process, no sockets): back to back", None, "us", "", ""),
    ("worker_fold_cold_us", "  the same, each alert after a 10 ms sleep (as at 100 alerts/s)", None, "us", "", ""),
    ("worker_fold_cold_minus_wake_us", "  the same less one sleep/wake cycle (the two medians above, same run)",
     None, "us", "", ""),
    ("stage_http_ms", "CPU per alert by stage at 100 alerts/s over HTTP (server and workers, a server per stage, "
     "alternated): Hypercorn and an ASGI endpoint answering at once", None, "ms", "", ""),
    ("stage_webhook_ms", "  + the webhook: parse, journal (fsync in a thread), answer (10 plugins, engine paused)",
     None, "ms", "", ""),
    ("stage_processing_ms", "  + processing, no plugin: paper broker, ledger, status, notification", None, "ms",
     "", ""),
    ("stage_plugins_ms", "  + 10 plugins (on_alert, on_order): host side and workers", None, "ms", "", ""),
    ("stage_total_ms", "  in all, 10 plugins", None, "ms", "", ""),
    ("burst_500_answer_ms", "bar-close burst: 500 alerts at once, each on a new connection, 10 plugins: "
     "answer, from the burst's start", "median", "ms", "", "p99 <= 500 ms"),
    ("burst_500_max_ms", "  slowest answer", None, "ms", "", "none near 3,000 ms"),
    ("burst_500_over_3s", "  answers after TradingView's 3 s (all rounds)", None, "", "", "0"),
    ("burst_500_failed", "  not answered 200: refused, reset, closed, timed out after 10 s (all rounds)", None, "",
     "", "0"),
    ("burst_500_refused_by_cap", "  of which closed by the connection cap (server.max_connections)", None, "", "",
     ""),
    ("burst_500_listen_overflows", "  listen-queue overflows meanwhile (kernel's count; dropped handshakes, retried)",
     None, "", "", ""),
    ("burst_500_executed_s", "  burst's start to every alert executed", None, "s", "", "<= 1.5 s"),
    ("burst_500_raw_answer_ms", "  the same burst against Hypercorn answering at once (the HTTP server's floor, "
     "same run, alternated): answer", "median", "ms", "", ""),
    ("burst_1000_answer_ms", "bar-close burst: 1,000 alerts at once, each on a new connection, 10 plugins: "
     "answer, from the burst's start", "median", "ms", "", "p99 <= 1,000 ms"),
    ("burst_1000_max_ms", "  slowest answer", None, "ms", "", "none near 3,000 ms"),
    ("burst_1000_over_3s", "  answers after TradingView's 3 s (all rounds)", None, "", "", "0"),
    ("burst_1000_failed", "  not answered 200: refused, reset, closed, timed out after 10 s (all rounds)", None, "",
     "", "0"),
    ("burst_1000_refused_by_cap", "  of which closed by the connection cap (server.max_connections)", None, "", "",
     ""),
    ("burst_1000_listen_overflows", "  listen-queue overflows meanwhile (kernel's count; dropped handshakes, retried)",
     None, "", "", ""),
    ("burst_1000_executed_s", "  burst's start to every alert executed", None, "s", "", ""),
    ("burst_1000_raw_answer_ms", "  the same burst against Hypercorn answering at once (the HTTP server's floor, "
     "same run, alternated): answer", "median", "ms", "", ""),
    ("dash_usable_overview_ms", "dashboard in headless Chromium, 10,000 alerts in the journal: the first page "
     "(overview) usable, a fresh load", "median", "ms", "", "<= 1,000 ms"),
    ("dash_usable_alerts_ms", "  the alerts page, its 100 latest rows shown", "median", "ms", "", "<= 1,000 ms"),
    ("dash_usable_slowest_ms", "  the slowest page (overview, alerts, plugins, editor with a script open, trades)",
     None, "ms", "", "<= 1,000 ms"),
    ("dash_transfer_kb", "  the largest page's transfer (document, files, API answers; cache off)", None, "KB", "",
     "<= 300 KB"),
    ("dash_event_ms", "  an alert posted to the webhook until its row shows on the open alerts page", "median", "ms",
     "", "<= 100 ms"),
    ("dash_cpu_closed_ms", "  CPU per alert at 100 alerts/s (server and workers), no page open", None, "ms", "", ""),
    ("dash_cpu_open_ms", "  the same with the alerts page open and live (alternated, one server)", None, "ms", "",
     ""),
    ("dash_cpu_open_ratio", "  open over closed", None, "", "", "within noise of 1"),
]
ROWS += replay_bench.ROWS + shadow_bench.ROWS


def table(results: dict) -> str:
    lines = ["| figure | moonhook | noise (min-max of run medians) | old plugin system | target |",
             "| --- | --- | --- | --- | --- |"]
    for key, label, field, unit, study, target in ROWS:
        v = results[key]
        if field:
            value = f"{v[field]} {unit} (p99 {v['p99']})"
            noise = f"{v['min']}-{v['max']}"
        else:
            value, noise = f"{v} {unit}", ""
            runs = results.get(f"{key}_runs")  # a plain figure that is a median over runs
            if runs and len(runs) > 1:
                noise = f"{min(runs)}-{max(runs)}"
        lines.append(f"| {label} | {value} | {noise} | {study} | {target} |")
    return "\n".join(lines)


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return (f"{platform.system()} {platform.release()}, {psutil.cpu_count()} cores, {memory:.0f} GB, "
            f"Python {platform.python_version()}")


def plot(results: dict, path: Path) -> None:
    """Latency and memory against plugin count, ours and the study's, log scales (matplotlib:
    the bench extra)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (latency, memory) = plt.subplots(1, 2, figsize=(11, 4.2))
    ours = [n for n in COUNTS if f"e2e_{n}_ms" in results]
    theirs = sorted(STUDY)
    for axis, ours_y, study_y, title in (
            (latency, [results[f"e2e_{n}_ms"]["median"] for n in ours], [STUDY[n][0] for n in theirs],
             "alert latency, median (ms)"),
            (memory, [results[f"e2e_{n}_rss_mb"] for n in ours], [STUDY[n][1] for n in theirs],
             "resident memory (MB)")):
        axis.plot(ours, ours_y, "o-", label="moonhook (measured)")
        axis.plot(theirs, study_y, "s--", label="old plugin system (its study)")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("plugins loaded (10 concerned above 20)")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
