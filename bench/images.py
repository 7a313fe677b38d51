"""A 2048x2048 PNG output, from URL to the bytes sent to the browser: time and size.

Serves the PNG on 127.0.0.1, then measures our path: ``Client.read`` in the kernel,
sniff + downscale to the display edge with Pillow, and the ``media`` trait of a real
PredictionPanel sent through a comm that encodes messages like the kernel (JSON +
binary buffers). The peer, in the same run, is the common anti-pattern: the original
file as a base64 ``data:`` URI in a Unicode trait.

    .venv/bin/python bench/images.py [--edge 1024] [--repeat 5]
"""

from __future__ import annotations

import argparse
import base64
import http.server
import io
import json
import statistics
import threading
import time
import uuid

import anywidget
import comm
import traitlets
from PIL import Image

from replicate_widgets._client.client import Client
from replicate_widgets._widgets.media import build_media
from replicate_widgets._widgets.panel.panel import PredictionPanel


class CountingComm:
    kernel = "bench"

    def __init__(self, **kwargs):
        self.comm_id = uuid.uuid4().hex
        # (json bytes, buffer bytes) per message; the comm_open counts as the first
        data, buffers = kwargs.get("data"), kwargs.get("buffers") or []
        self.sent = [(len(json.dumps(data)), sum(len(b) for b in buffers))]

    def send(self, data=None, _metadata=None, buffers=None):
        self.sent.append((len(json.dumps(data)), sum(len(b) for b in buffers or [])))

    def on_msg(self, callback):
        pass

    def close(self, *args, **kwargs):
        pass


class Base64Image(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    src = traitlets.Unicode("").tag(sync=True)


def make_png(size=2048):
    # A Mandelbrot render: structured like a real output (noise would not compress).
    gray = Image.effect_mandelbrot((size, size), (-2.0, -1.5, 1.0, 1.5), 200)
    rgb = Image.merge(
        "RGB", (gray, gray.point(lambda v: 255 - v), gray.point(lambda v: v // 2))
    )
    out = io.BytesIO()
    rgb.save(out, format="PNG")
    return out.getvalue()


def serve_bytes(data):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edge", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    made = []
    comm.create_comm = lambda **kw: made.append(CountingComm(**kw)) or made[-1]
    png = make_png()
    server = serve_bytes(png)
    url = f"http://127.0.0.1:{server.server_address[1]}/out-0.png"
    print(f"source: 2048x2048 PNG, {len(png) / 1e6:.2f} MB, served at {url}")

    def traffic(first_comm, panel_comm, panel_before):
        """(JSON bytes, binary bytes) sent since: new comms in full + panel updates."""
        msgs = [m for c in made[first_comm:] for m in c.sent]
        msgs += panel_comm.sent[panel_before:]
        return sum(m[0] for m in msgs), sum(m[1] for m in msgs)

    def through_panel(client, edge):
        """What the panel does for one output file: fetch, prepare, one bytes model."""
        panel = PredictionPanel(max_image_edge=edge)
        channel, first, before = made[-1], len(made), len(made[-1].sent)
        start = time.perf_counter()
        content = client.read(url)
        item = build_media("m0", url, content.data, content.content_type, max_edge=edge)
        entry = item.to_trait(inline_limit=50_000_000)
        entry["data"] = panel._media_models.model_for(item.key, entry["data"])
        panel.media = [entry]
        elapsed = time.perf_counter() - start
        assert item.data == png  # the original is kept in the kernel
        return elapsed, traffic(first, channel, before)

    ours, full, peer = [], [], []
    with Client(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1") as client:
        for _ in range(args.repeat):
            ours.append(through_panel(client, args.edge))
            # The same path with no downscaling: the original bytes, one binary frame.
            full.append(through_panel(client, 4096))

            widget = Base64Image()
            channel, first, before = made[-1], len(made), len(made[-1].sent)
            start = time.perf_counter()
            content = client.read(url)
            widget.src = (
                "data:image/png;base64," + base64.b64encode(content.data).decode()
            )
            peer.append((time.perf_counter() - start, traffic(first, channel, before)))
    server.shutdown()

    def report(name, runs):
        t = statistics.median(r[0] for r in runs)
        json_bytes, buffer_bytes = runs[-1][1]
        total = json_bytes + buffer_bytes
        print(
            f"{name:>22}: {1000 * t:7.1f} ms median, sent {total / 1e6:6.2f} MB "
            f"({json_bytes / 1e3:.1f} KB JSON + {buffer_bytes / 1e6:.2f} MB binary) = "
            f"{total / len(png):.2f}x the file"
        )
        return t, total

    t_ours, b_ours = report(f"ours (edge {args.edge}, buffers)", ours)
    report("ours (no downscale)", full)
    t_peer, b_peer = report("base64 Unicode trait", peer)
    print(
        f"ratio base64/ours: {b_peer / b_ours:.1f}x bytes to the browser, "
        f"{t_peer / t_ours:.2f}x time"
    )


if __name__ == "__main__":
    main()
