#!/usr/bin/python3
"""A Python grpcio client that uploads a file and resumes it when the stream breaks, following
the README's "Resuming an upload" step by step and nothing else: Debian's python3-grpcio, stubs
generated at run time by Debian's protoc (scripts/python-grpc.sh installs them).

Usage: /usr/bin/python3 resume_client.py --target HOST:PORT --file F --bucket B --key K --s3host H
The owner's keys come from S3_TEST_OWNER_ACCESS_KEY_ID and S3_TEST_OWNER_SECRET_ACCESS_KEY.
Prints one JSON line: {"streams", "resumedFrom", "sha256", "state", "token"}.
"""

import argparse
import hashlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROTO = os.path.join(ROOT, "proto")
UPLOAD_PROTO = "render/upload/v1/upload.proto"
CHUNK = 1024 * 1024

# Step 3 of the README: these codes (or a dropped connection, which grpcio reports as
# UNAVAILABLE) mean the stream broke, and the upload may be resumed.
RESUMABLE = {"UNAVAILABLE", "INTERNAL", "ABORTED", "UNKNOWN", "CANCELLED", "DEADLINE_EXCEEDED"}


def load_stubs(workdir):
    subprocess.run(
        [
            "/usr/bin/protoc",
            f"-I{PROTO}",
            "-I/usr/include",
            "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
            f"--python_out={workdir}",
            f"--grpc_python_out={workdir}",
            UPLOAD_PROTO,
        ],
        check=True,
    )
    sys.path.insert(0, workdir)
    pb = importlib.import_module("render.upload.v1.upload_pb2")
    rpc = importlib.import_module("render.upload.v1.upload_pb2_grpc")
    return pb, rpc


def main():
    parser = argparse.ArgumentParser()
    for name in ("target", "file", "bucket", "key", "s3host"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    import grpc

    with tempfile.TemporaryDirectory() as workdir:
        pb, rpc = load_stubs(workdir)
        channel = grpc.insecure_channel(args.target)
        stub = rpc.UploadServiceStub(channel)
        size = os.path.getsize(args.file)
        with open(args.file, "rb") as f:
            sha256 = hashlib.sha256(f.read()).hexdigest()
        render = pb.RenderRequest(
            upload=pb.UploadTask(
                destination=pb.S3Destination(
                    bucket=args.bucket,
                    filename=args.key,
                    aws_access_key_id=os.environ["S3_TEST_OWNER_ACCESS_KEY_ID"],
                    aws_secret_access_key=os.environ["S3_TEST_OWNER_SECRET_ACCESS_KEY"],
                    s3host=args.s3host,
                )
            )
        )

        def requests(resume):
            # Step 1 (and 5): the header, the same render request and size every time;
            # on a resume, the token and the offset, and the file's bytes from the offset.
            header = pb.UploadHeader(render=render, size_bytes=size, sha256=sha256)
            offset = 0
            if resume is not None:
                header.resume.token, header.resume.offset = resume
                offset = resume[1]
            yield pb.UploadStreamRequest(header=header)
            with open(args.file, "rb") as f:
                f.seek(offset)
                while True:
                    chunk = f.read(CHUNK)
                    if not chunk:
                        break
                    yield pb.UploadStreamRequest(chunk=chunk)

        token = None
        resume = None
        resumed_from = 0
        streams = 0
        delay = 0.5
        while True:
            streams += 1
            try:
                result = None
                for response in stub.UploadStream(requests(resume), timeout=120):
                    # Step 2: the first event carries the token; keep it.
                    if response.HasField("progress"):
                        token = response.progress.token
                    else:
                        result = response.result
                state = pb.UploadState.Name(result.state)
                print(
                    json.dumps(
                        {
                            "streams": streams,
                            "resumedFrom": resumed_from,
                            "sha256": result.sha256,
                            "state": state,
                            "token": result.token,
                        }
                    )
                )
                return 0
            except grpc.RpcError as err:
                code = err.code().name
                if code not in RESUMABLE or token is None or streams >= 8:
                    print(f"resume_client: {code}: {err.details()}", file=sys.stderr)
                    return 1
            # Step 4: after a backoff, ask where the upload stands; a stream the
            # service never sees end is given up on after a bounded number of asks.
            for _ in range(12):
                time.sleep(delay)
                delay = min(delay * 2, 8)
                status = stub.GetUpload(pb.GetUploadRequest(token=token), timeout=30).upload
                if status.state == pb.UPLOAD_STATE_SUCCEEDED:
                    print(json.dumps({"streams": streams, "resumedFrom": resumed_from,
                                      "sha256": sha256, "state": "UPLOAD_STATE_SUCCEEDED",
                                      "token": token}))
                    return 0
                if status.resumable:
                    resume = (token, status.committed_bytes)
                    resumed_from = status.committed_bytes
                    break
                if status.state != pb.UPLOAD_STATE_UPLOADING:
                    print(f"resume_client: {token} cannot be resumed: "
                          f"{pb.UploadState.Name(status.state)} {status.error_message}",
                          file=sys.stderr)
                    return 1
                # Still UPLOADING: the service has not yet seen the stream break. Ask again.
            else:
                print(f"resume_client: {token} stayed UPLOADING after the stream broke",
                      file=sys.stderr)
                return 1


if __name__ == "__main__":
    sys.exit(main())
