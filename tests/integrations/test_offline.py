"""The integrations work offline: importing and using them opens no network connection, and
``genseek.integrations`` itself imports no framework. Also: CI's ``pip install -e ".[dev]"`` gets
all three frameworks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, socket, sys

    attempts = []
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(f"connect {address!r}")
            raise OSError("network disabled by the test")
        return real_connect(self, address)

    def refuse(*args, **kwargs):
        attempts.append(f"getaddrinfo {args[:2]!r}")
        raise OSError("network disabled by the test")

    socket.socket.connect = guarded_connect
    socket.getaddrinfo = refuse

    import genseek.integrations
    frameworks = sorted({m.split(".")[0] for m in sys.modules} & {"langchain_core", "llama_index", "haystack"})

    from qdrant_client import QdrantClient, models
    from genseek import GenerativeSearch
    from genseek.testing import FixedSeedsSampler, HashingEncoder

    encoder = HashingEncoder(16)
    client = QdrantClient(":memory:")
    client.create_collection("docs", vectors_config=models.VectorParams(size=16, distance=models.Distance.COSINE))
    texts = ["punk rock", "folk song", "jazz trio", "rock anthem"]
    client.upsert("docs", [
        models.PointStruct(id=i, vector=encoder.encode(t).tolist(),
                           payload={"page_content": t, "text": t, "content": t, "shop": "acme"})
        for i, t in enumerate(texts)
    ])
    search = GenerativeSearch(client, "docs", encoder=encoder, sampler=FixedSeedsSampler(encoder.encode(["rock"])),
                              tenant_field="shop")

    from genseek.integrations import haystack, langchain, llamaindex
    from haystack import Pipeline

    counts = {
        "langchain": len(langchain.GenerativeRetriever(search, tenant="acme").invoke("rock")),
        "llamaindex": len(llamaindex.GenerativeRetriever(search, tenant="acme").retrieve("rock")),
    }
    pipeline = Pipeline()
    pipeline.add_component("retriever", haystack.GenerativeRetriever(search, tenant="acme"))
    counts["haystack"] = len(pipeline.run({"retriever": {"query": "rock"}})["retriever"]["documents"])
    print(json.dumps({"frameworks_on_import": frameworks, "counts": counts, "attempts": attempts}))
    """
)


def test_integrations_open_no_connection():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["frameworks_on_import"] == []  # `import genseek.integrations` imports no framework
    assert report["counts"] == {"langchain": 4, "llamaindex": 4, "haystack": 4}
    assert report["attempts"] == []


def test_dev_install_includes_the_framework_extras():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert extras["langchain"][0].startswith("langchain-core")
    assert extras["llamaindex"][0].startswith("llama-index-core")
    assert extras["haystack"][0].startswith("haystack-ai")
    assert {"langchain", "llamaindex", "haystack"} <= set(extras["all"][0].split("[")[1].rstrip("]").split(","))
    assert "genseek[all,test]" in extras["dev"]
