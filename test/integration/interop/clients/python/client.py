#!/usr/bin/python3
"""The Python interop client: Debian's python3-grpcio, stubs generated at run time by Debian's
protoc and grpc_python_plugin (scripts/python-grpc.sh installs them), every case of
scenarios.json, one JSON line per case on stdout.

Usage: /usr/bin/python3 client.py --scenarios FILE --target http://host:port --bucket B
           --prefix P --s3host H
The owner's keys come from S3_TEST_OWNER_ACCESS_KEY_ID and S3_TEST_OWNER_SECRET_ACCESS_KEY.
"""

import argparse
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))
PROTO = os.path.join(ROOT, "proto")
MiB = 1024 * 1024

# Compiled under other directories so they do not shadow grpcio's own "grpc" package
# (test/python/ops_client.py does the same).
RENAMED = {
    "grpc/health/v1/health.proto": "grpc_health/v1/health.proto",
    "grpc/reflection/v1/reflection.proto": "grpc_reflection/v1/reflection.proto",
}
UPLOAD_PROTO = "render/upload/v1/upload.proto"


def generate_stubs(workdir):
    src = os.path.join(workdir, "src")
    out = os.path.join(workdir, "out")
    os.makedirs(out)
    for original, renamed in RENAMED.items():
        os.makedirs(os.path.dirname(os.path.join(src, renamed)), exist_ok=True)
        shutil.copyfile(os.path.join(PROTO, original), os.path.join(src, renamed))
    subprocess.run(
        [
            "/usr/bin/protoc",
            f"-I{src}",
            f"-I{PROTO}",
            "-I/usr/include",
            "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            *RENAMED.values(),
            UPLOAD_PROTO,
        ],
        check=True,
    )
    sys.path.insert(0, out)


def stubs(module):
    return importlib.import_module(module + "_pb2"), importlib.import_module(module + "_pb2_grpc")


def pattern(offset, length):
    """Byte i of a case's body is i % 251."""
    base = bytes(range(251))
    start = offset % 251
    reps = (start + length) // 251 + 1
    return (base * reps)[start:start + length]


class Client:
    def __init__(self, grpc, channel, args, scenario_set):
        self.grpc = grpc
        self.args = args
        self.set = scenario_set
        self.pb, pb_grpc = stubs("render.upload.v1.upload")
        self.stub = pb_grpc.UploadServiceStub(channel)
        self.channel = channel
        self.access_key = os.environ["S3_TEST_OWNER_ACCESS_KEY_ID"]
        self.secret_key = os.environ["S3_TEST_OWNER_SECRET_ACCESS_KEY"]

    def key(self, case):
        return f"{self.args.prefix}/{case['name']}.bin"

    def render(self, case, is_async=False):
        dest = {
            "type": "s3",
            "bucket": self.args.bucket,
            "filename": self.key(case),
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "s3host": self.args.s3host,
        }
        dest.update(case.get("dest", {}))
        pb = self.pb
        return pb.RenderRequest(
            movie=self.key(case),
            upload=pb.UploadTask(
                extension=case.get("extension", "mp4"),
                destination=pb.S3Destination(**dest),
                **{"async": is_async},
            ),
        )

    def body(self, case):
        return pattern(0, case.get("sizeBytes", 8))

    def failed(self, case, err, **extra):
        return {"case": case["name"], "code": err.code().value[0], "message": err.details() or "",
                **extra}

    def unary(self, case):
        try:
            res = self.stub.Upload(
                self.pb.UploadRequest(render=self.render(case), data=self.body(case)), timeout=30)
        except self.grpc.RpcError as err:
            return self.failed(case, err)
        return {"case": case["name"], "code": 0, "message": "", "token": res.token,
                "upload": res.upload, "sizeBytes": res.size_bytes,
                "state": self.pb.UploadState.Name(res.state).replace("UPLOAD_STATE_", "")}

    def run_async(self, case):
        try:
            res = self.stub.Upload(
                self.pb.UploadRequest(render=self.render(case, True), data=self.body(case)),
                timeout=60)
        except self.grpc.RpcError as err:
            return self.failed(case, err)
        result = {"case": case["name"], "code": 0, "message": "", "token": res.token,
                  "upload": res.upload, "sizeBytes": res.size_bytes,
                  "state": self.pb.UploadState.Name(res.state).replace("UPLOAD_STATE_", ""),
                  "states": []}
        try:
            for status in self.stub.WatchUpload(self.pb.WatchUploadRequest(token=res.token),
                                                timeout=60):
                state = self.pb.UploadState.Name(status.upload.state).replace("UPLOAD_STATE_", "")
                if not result["states"] or result["states"][-1] != state:
                    result["states"].append(state)
        except self.grpc.RpcError as err:
            return self.failed(case, err, **{k: v for k, v in result.items()
                                             if k not in ("case", "code", "message")})
        return result

    def stream(self, case):
        """A stream, cancel or deadline case: grpcio reads the request iterator in its own
        thread; this one reads the responses."""
        pb = self.pb
        kind = case["kind"]
        body = self.body(case)
        sha = "0" * 64 if case.get("sha256") == "wrong" else hashlib.sha256(body).hexdigest()
        declared = case.get("declaredBytes")
        if declared is None and kind == "stream" and case.get("declareSize"):
            declared = case["sizeBytes"]
        state = {"half_closed": False, "while_sending": 0, "progress": [], "token": None}
        progressed = threading.Event()
        part_done = threading.Event()
        call_box = []

        def requests():
            header = pb.UploadHeader(render=self.render(case),
                                     sha256=sha if kind == "stream" and case.get("sha256") == "header"
                                     else "")
            if declared is not None:
                header.size_bytes = declared
            yield pb.UploadStreamRequest(header=header)
            waited = False
            for offset in range(0, len(body), MiB):
                yield pb.UploadStreamRequest(chunk=body[offset:offset + MiB])
                sent = min(offset + MiB, len(body))
                if kind == "cancel" and part_done.is_set():
                    call_box[0].cancel()
                    return
                if kind == "stream" and not waited and sent >= self.set["waitProgressAfterBytes"]:
                    waited = True
                    progressed.wait(self.set["waitProgressMs"] / 1000)
            if kind == "cancel":
                part_done.wait(15)
                call_box[0].cancel()
                return
            if kind == "deadline":
                time.sleep(case["timeoutMs"] / 1000 + 30)  # never half-closes in time
                return
            if case.get("sha256") in ("finish", "wrong"):
                yield pb.UploadStreamRequest(finish=pb.UploadFinish(sha256=sha))
            state["half_closed"] = True

        call = self.stub.UploadStream(requests(), timeout=case.get("timeoutMs", 60000) / 1000)
        call_box.append(call)
        result = None
        try:
            for res in call:
                which = res.WhichOneof("event")
                if which == "progress":
                    p = res.progress
                    state["token"] = p.token
                    state["progress"].append({"received": p.received_bytes,
                                              "committed": p.committed_bytes,
                                              "parts": p.parts_completed})
                    if not state["half_closed"]:
                        state["while_sending"] += 1
                    progressed.set()
                    if p.parts_completed >= 1:
                        part_done.set()
                elif which == "result":
                    result = res.result
        except self.grpc.RpcError as err:
            return self.failed(case, err, token=state["token"], progress=state["progress"],
                               progressWhileSending=state["while_sending"])
        out = {"case": case["name"], "code": 0, "message": "", "token": state["token"],
               "progress": state["progress"], "progressWhileSending": state["while_sending"]}
        if result is None:
            out.update(code=2, message="the stream ended without a result")
            return out
        out.update(token=result.token, upload=result.upload, sizeBytes=result.size_bytes,
                   sha256=result.sha256, parts=result.parts,
                   state=pb.UploadState.Name(result.state).replace("UPLOAD_STATE_", ""))
        return out

    def health(self, case):
        pb, pb_grpc = stubs("grpc_health.v1.health")
        try:
            res = pb_grpc.HealthStub(self.channel).Check(pb.HealthCheckRequest(service=""),
                                                         timeout=10)
        except self.grpc.RpcError as err:
            return self.failed(case, err)
        return {"case": case["name"], "code": 0, "message": "",
                "status": pb.HealthCheckResponse.ServingStatus.Name(res.status)}

    def reflection(self, case):
        pb, pb_grpc = stubs("grpc_reflection.v1.reflection")
        stub = pb_grpc.ServerReflectionStub(self.channel)
        try:
            answers = list(stub.ServerReflectionInfo(
                iter([pb.ServerReflectionRequest(list_services="")]), timeout=10))
        except self.grpc.RpcError as err:
            return self.failed(case, err)
        names = sorted(s.name for a in answers for s in a.list_services_response.service)
        return {"case": case["name"], "code": 0, "message": "", "services": names}


def main():
    parser = argparse.ArgumentParser()
    for name in ("scenarios", "target", "bucket", "prefix", "s3host"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--cases")
    args = parser.parse_args()
    with open(args.scenarios, encoding="utf-8") as f:
        scenario_set = json.load(f)
    kinds = scenario_set["clients"]["python"]["kinds"]
    only = args.cases.split(",") if args.cases else None
    cases = [c for c in scenario_set["cases"]
             if (kinds == "all" or c["kind"] in kinds) and (only is None or c["name"] in only)]
    import grpc

    with tempfile.TemporaryDirectory(prefix="render-upload-interop-py-") as workdir:
        generate_stubs(workdir)
        target = args.target.removeprefix("http://")
        with grpc.insecure_channel(target, options=[("grpc.enable_http_proxy", 0)]) as channel:
            client = Client(grpc, channel, args, scenario_set)
            run = {"unary": client.unary, "bad": client.unary, "stream": client.stream,
                   "cancel": client.stream, "deadline": client.stream, "async": client.run_async,
                   "health": client.health, "reflection": client.reflection}
            for case in cases:
                print(json.dumps(run[case["kind"]](case)), flush=True)
    # A deadline case's request thread may still sleep: leave without waiting for it.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
