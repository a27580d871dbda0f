"""The peer of `seqlab bench serve`: the same seqlab classifier behind LitServe, its batching on.

python benchmarks/litserve_peer.py RUN_DIR PORT [MAX_BATCH] [BATCH_TIMEOUT_S]
POST /predict {"texts": ["…"]} → {"predictions": [row]}, one text per request, as the load sends them.
"""

from __future__ import annotations

import sys

import litserve as ls

from seqlab.pipeline import load


class Classifier(ls.LitAPI):
    def setup(self, device):
        self.pipeline = load(sys.argv[1])

    def decode_request(self, request):
        return request["texts"][0]

    def batch(self, inputs):
        return list(inputs)

    def predict(self, texts):
        return self.pipeline.predict([{"text": text} for text in texts])

    def unbatch(self, output):
        return list(output)

    def encode_response(self, output):
        return {"predictions": [output]}


if __name__ == "__main__":
    max_batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 0.005
    server = ls.LitServer(Classifier(max_batch_size=max_batch, batch_timeout=timeout), accelerator="cpu")
    server.run(host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", generate_client_file=False)
