#!/usr/bin/python3
"""A Python gRPC client of render-upload's operational services, as a polyglot caller sees them.

Run by Debian's own /usr/bin/python3 with Debian's python3-grpcio and python3-protobuf (see
scripts/python-grpc.sh). Generates its stubs at run time, into a temporary directory, with
Debian's protoc and grpc_python_plugin from the repository's proto/ files (the google/protobuf
imports from /usr/include), then checks against a running server:

  * grpc.health.v1.Health/Check: the server ("") and render.upload.v1.UploadService are SERVING,
    an unknown service is NOT_FOUND;
  * grpc.reflection.v1 and v1alpha ServerReflectionInfo: list_services, and
    file_containing_symbol render.upload.v1.UploadService, whose answer decodes with
    descriptor_pb2, holds the service with its methods and the google/protobuf dependencies,
    and loads into a fresh descriptor pool;
  * render.upload.v1.UploadService/Upload with an empty bucket: INVALID_ARGUMENT naming the
    bucket (no S3 involved).

Usage: /usr/bin/python3 test/python/ops_client.py PORT
Prints one JSON line (the checks that passed) and exits 0, or exits 1 with the failure.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(ROOT, "proto")
INCLUDE = "/usr/include"
PLUGIN = "/usr/bin/grpc_python_plugin"

# The vendored gRPC protos are compiled under other directories: generated as grpc/health/...
# they would be the Python package "grpc", which is grpcio itself. grpcio-health-checking and
# grpcio-reflection rename them the same way. The wire format does not change.
RENAMED = {
    "grpc/health/v1/health.proto": "grpc_health/v1/health.proto",
    "grpc/reflection/v1/reflection.proto": "grpc_reflection/v1/reflection.proto",
    "grpc/reflection/v1alpha/reflection.proto": "grpc_reflection/v1alpha/reflection.proto",
}
UPLOAD_PROTO = "render/upload/v1/upload.proto"
UPLOAD_SERVICE = "render.upload.v1.UploadService"
UPLOAD_METHODS = ["Upload", "UploadStream", "GetUpload", "WatchUpload", "CancelUpload"]
SERVICES = {
    UPLOAD_SERVICE,
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def generate_stubs(workdir):
    """Compiles the protos into workdir/out and puts it first on sys.path."""
    src = os.path.join(workdir, "src")
    out = os.path.join(workdir, "out")
    os.makedirs(out)
    for original, renamed in RENAMED.items():
        os.makedirs(os.path.dirname(os.path.join(src, renamed)), exist_ok=True)
        shutil.copyfile(os.path.join(PROTO, original), os.path.join(src, renamed))
    expect(os.path.exists(os.path.join(INCLUDE, "google/protobuf/struct.proto")),
           f"no {INCLUDE}/google/protobuf/struct.proto (Debian package libprotobuf-dev)")
    cmd = [
        "protoc",
        f"-I{src}",
        f"-I{PROTO}",
        f"-I{INCLUDE}",
        f"--plugin=protoc-gen-grpc_python={PLUGIN}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        *RENAMED.values(),
        UPLOAD_PROTO,
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, check=False)
    expect(run.returncode == 0, f"protoc failed ({run.returncode}): {run.stderr.strip()}")
    sys.path.insert(0, out)


def stubs(module):
    return importlib.import_module(module + "_pb2"), importlib.import_module(module + "_pb2_grpc")


def check_health(grpc, channel, checks):
    pb, pb_grpc = stubs("grpc_health.v1.health")
    health = pb_grpc.HealthStub(channel)
    serving = pb.HealthCheckResponse.SERVING
    for service in ("", UPLOAD_SERVICE):
        res = health.Check(pb.HealthCheckRequest(service=service), timeout=10)
        expect(res.status == serving, f"Check({service!r}): {res.status}, not SERVING")
    checks.append("health.check.serving")
    try:
        health.Check(pb.HealthCheckRequest(service="no.such.Service"), timeout=10)
        raise CheckFailed("Check of an unknown service succeeded")
    except grpc.RpcError as err:
        expect(err.code() == grpc.StatusCode.NOT_FOUND, f"unknown service: {err.code()}")
    checks.append("health.check.not_found")


def reflect(version, channel, requests):
    pb, pb_grpc = stubs(f"grpc_reflection.{version}.reflection")
    stub = pb_grpc.ServerReflectionStub(channel)
    return pb, list(stub.ServerReflectionInfo(iter(requests(pb)), timeout=10))


def check_reflection(version, channel, checks):
    from google.protobuf import descriptor_pb2, descriptor_pool

    def requests(pb):
        return [
            pb.ServerReflectionRequest(host="python", list_services=""),
            pb.ServerReflectionRequest(file_containing_symbol=UPLOAD_SERVICE),
            pb.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
        ]

    pb, (listed, found, missing) = reflect(version, channel, requests)

    expect(listed.WhichOneof("message_response") == "list_services_response",
           f"{version} list_services: {listed.WhichOneof('message_response')}")
    expect(listed.valid_host == "python", f"{version} valid_host: {listed.valid_host!r}")
    names = {s.name for s in listed.list_services_response.service}
    expect(names == SERVICES, f"{version} list_services: {sorted(names)}")
    checks.append(f"reflection.{version}.list_services")

    expect(found.WhichOneof("message_response") == "file_descriptor_response",
           f"{version} file_containing_symbol: {found.WhichOneof('message_response')}")
    files = []
    for raw in found.file_descriptor_response.file_descriptor_proto:
        fd = descriptor_pb2.FileDescriptorProto()
        fd.ParseFromString(raw)
        files.append(fd)
    file_names = [fd.name for fd in files]
    expect(len(set(file_names)) == len(file_names), f"{version}: a file sent twice: {file_names}")
    expect(file_names[0] == UPLOAD_PROTO, f"{version}: first file {file_names[0]}")
    for dep in ("google/protobuf/struct.proto", "google/protobuf/timestamp.proto"):
        expect(dep in file_names, f"{version}: {dep} missing from {file_names}")
    upload = files[0]
    expect(upload.package == "render.upload.v1", f"{version}: package {upload.package}")
    services = {s.name: s for s in upload.service}
    expect("UploadService" in services, f"{version}: services {list(services)}")
    methods = [m.name for m in services["UploadService"].method]
    expect(methods == UPLOAD_METHODS, f"{version}: methods {methods}")
    checks.append(f"reflection.{version}.file_containing_symbol")

    # The answer is self-contained: it loads into an empty pool, dependencies first.
    pool = descriptor_pool.DescriptorPool()
    pending = {fd.name: fd for fd in files}
    while pending:
        ready = [fd for fd in pending.values() if all(d not in pending for d in fd.dependency)]
        expect(ready, f"{version}: unresolved dependencies among {list(pending)}")
        for fd in ready:
            pool.Add(fd)
            del pending[fd.name]
    method = pool.FindServiceByName(UPLOAD_SERVICE).FindMethodByName("Upload")
    expect(method.input_type.full_name == "render.upload.v1.UploadRequest",
           f"{version}: Upload takes {method.input_type.full_name}")
    expect(method.output_type.full_name == "render.upload.v1.UploadResponse",
           f"{version}: Upload returns {method.output_type.full_name}")
    checks.append(f"reflection.{version}.descriptor_pool")

    expect(missing.WhichOneof("message_response") == "error_response",
           f"{version}: unknown symbol: {missing.WhichOneof('message_response')}")
    expect(missing.error_response.error_code == 5,  # NOT_FOUND
           f"{version}: unknown symbol error code {missing.error_response.error_code}")
    checks.append(f"reflection.{version}.not_found")


def check_upload_validation(grpc, channel, checks):
    pb, pb_grpc = stubs("render.upload.v1.upload")
    client = pb_grpc.UploadServiceStub(channel)
    request = pb.UploadRequest(
        render=pb.RenderRequest(
            movie="python",
            upload=pb.UploadTask(
                extension="png",
                destination=pb.S3Destination(
                    type="s3",
                    bucket="",
                    filename="python/ops.png",
                    aws_access_key_id="AKIAEXAMPLEEXAMPLE00",
                    aws_secret_access_key="secret",
                ),
            ),
        ),
        data=b"png bytes",
    )
    try:
        client.Upload(request, timeout=10)
        raise CheckFailed("Upload with an empty bucket succeeded")
    except grpc.RpcError as err:
        expect(err.code() == grpc.StatusCode.INVALID_ARGUMENT, f"Upload: {err.code()}")
        expect("bucket" in (err.details() or ""), f"Upload details: {err.details()!r}")
        checks.append("upload.invalid_argument")
        return err.details()


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    port = int(argv[1])
    import grpc

    checks = []
    with tempfile.TemporaryDirectory(prefix="render-upload-py-") as workdir:
        generate_stubs(workdir)
        # No proxy from the environment for a loopback server.
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)]) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            check_health(grpc, channel, checks)
            check_reflection("v1", channel, checks)
            check_reflection("v1alpha", channel, checks)
            details = check_upload_validation(grpc, channel, checks)
    print(json.dumps({
        "ok": True,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "grpc": grpc.__version__,
        "checks": checks,
        "upload_error": details,
    }))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception:  # noqa: BLE001 - report any failure with its traceback
        traceback.print_exc()
        sys.exit(1)
