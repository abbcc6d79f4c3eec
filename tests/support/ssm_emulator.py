#!/usr/bin/env python3
"""An AWS Systems Manager emulator for RUNE's end-to-end tests.

Speaks the awsJson1_1 protocol (POST /, `X-Amz-Target: AmazonSSM.<Operation>`)
for SendCommand, GetCommandInvocation, ListCommandInvocations, CancelCommand and
DescribeInstanceInformation, and really runs AWS-RunShellScript commands on
this machine with `bash -c`: one working directory per configured instance,
one process group per invocation, `AWS_SSM_INSTANCE_ID` set as the agent sets
it. Output is cut like the agent cuts it (24,000 / 8,000 bytes, then
"--output truncated--"). Any SigV4 signature is accepted.

SendCommand takes InstanceIds or Targets (Key "InstanceIds" or "tag:K") and
paces the fan-out as SSM does: at most MaxConcurrency invocations run at once
(a number or a percentage), and once more than MaxErrors have failed (Failed
or ExecutionTimedOut; DeliveryTimedOut does not count) the ones not started
yet end as Status "Cancelled", StatusDetails "Terminated". With an
OutputS3BucketName the full (uncut) output is also stored under
<prefix>/<CommandId>/<InstanceId>/awsrunShellScript/0.awsrunShellScript/{stdout,stderr}
and served by S3 GetObject, path style (GET /<bucket>/<key>).

Usage: ssm_emulator.py --state-dir DIR [--config JSON]
Prints "PORT <n>" once listening on 127.0.0.1; exits when stdin closes.

Config (all optional):
  region            "eu-west-1"
  instances         [{"id", "computer_name", "tags": {}, "online": true,
                      "stuck": false, "broken": false}]
                    (offline: never delivered, DeliveryTimedOut at the delivery timeout;
                     stuck: InProgress until cancelled; broken: Failed, runs nothing)
  page_size         DescribeInstanceInformation page size (2)
  invocation_page_size   ListCommandInvocations page size (50, SSM's maximum)
  pending_ms        how long an invocation stays Pending (50)
  delivery_timeout_ms    use this instead of the command's TimeoutSeconds
  faults:
    throttle        {"ops": [op, ...] (all when empty), "count": N}: first N such calls throttled
    missing_polls   first N GetCommandInvocation calls per invocation: InvocationDoesNotExist,
                    and the first N ListCommandInvocations of a command list none of it
    stuck           invocations stay InProgress, running nothing, until cancelled:
                    true for every instance, or a list of instance ids (an instance's
                    own "stuck" flag does the same)
    deny            [op, ...]: AccessDeniedException
    hang            accept every connection and never answer
    stdout_cap, stderr_cap   the agent's caps (24000, 8000)
    s3              "AccessDenied" or "NoSuchKey": every GetObject fails so

State for tests, under --state-dir: calls.jsonl (every call: operation, request
body as SSM would store it, HTTP status, whether it was signed) and
instances/<id>/ (each instance's working directory and TMPDIR).
"""

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRUNCATED = "--output truncated--"
TERMINAL = ("Success", "Failed", "Cancelled", "TimedOut")


class ApiError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def iso(ts):
    if not ts:
        return ""
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Invocation:
    def __init__(self, command, instance):
        self.command = command
        self.instance = instance
        self.status = "Pending"
        self.details = "Pending"
        self.stdout = ""
        self.stderr = ""
        self.rc = -1
        self.started = 0.0
        self.ended = 0.0
        self.polls = 0
        self.proc = None
        self.cancelled = False
        self.done = threading.Event()


class Emulator:
    def __init__(self, state_dir, config):
        self.state_dir = state_dir
        self.region = config.get("region", "eu-west-1")
        self.instances = {i["id"]: i for i in config.get("instances", [])}
        self.page_size = int(config.get("page_size", 2))
        self.invocation_page_size = int(config.get("invocation_page_size", 50))
        self.delivery_timeout = config.get("delivery_timeout_ms")
        self.pending = config.get("pending_ms", 50) / 1000.0
        self.faults = config.get("faults", {})
        self.lock = threading.Lock()
        self.commands = {}
        self.invocations = {}
        self.throttled = 0
        self.log = open(os.path.join(state_dir, "calls.jsonl"), "a", encoding="utf-8")
        for instance in self.instances:
            os.makedirs(self.workdir(instance, "tmp"), exist_ok=True)

    def workdir(self, instance, *more):
        return os.path.join(self.state_dir, "instances", instance, *more)

    def record(self, entry):
        with self.lock:
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()

    # ---- dispatch -------------------------------------------------------

    def call(self, operation, body):
        throttle = self.faults.get("throttle")
        if throttle:
            ops = throttle.get("ops") or []
            with self.lock:
                hit = (not ops or operation in ops) and self.throttled < throttle.get("count", 0)
                if hit:
                    self.throttled += 1
            if hit:
                raise ApiError("ThrottlingException", "Rate exceeded")
        if operation in self.faults.get("deny", []):
            raise ApiError(
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/rune-test is not authorized to perform: "
                f"ssm:{operation} because no identity-based policy allows the ssm:{operation} action")
        handler = getattr(self, "op_" + operation, None)
        if handler is None:
            raise ApiError("UnknownOperationException", f"unknown operation {operation}")
        return handler(body)

    # ---- SendCommand ----------------------------------------------------

    def op_SendCommand(self, body):
        if body.get("DocumentName") != "AWS-RunShellScript":
            raise ApiError("InvalidDocument", "only AWS-RunShellScript is emulated")
        ids = list(body.get("InstanceIds") or [])
        for target in body.get("Targets") or []:
            key, values = target.get("Key", ""), target.get("Values", [])
            if key == "InstanceIds":
                ids += values
            elif key.startswith("tag:"):
                ids += [i for i, d in self.instances.items()
                        if d.get("tags", {}).get(key[4:]) in values]
        if not ids:
            raise ApiError("InvalidParameters", "no instance ids or targets")
        if len(ids) > 50:
            raise ApiError("ValidationException",
                           "1 validation error detected: Value at 'instanceIds' failed to satisfy "
                           "constraint: Member must have length less than or equal to 50")
        if len(set(ids)) != len(ids):
            raise ApiError("DuplicateInstanceId", "duplicate instance ids")
        unknown = [i for i in ids if i not in self.instances]
        if unknown:
            raise ApiError("InvalidInstanceId",
                           f"Instances [{unknown}] not in a valid state for account 123456789012")
        params = body.get("Parameters") or {}
        commands = params.get("commands")
        if not commands:
            raise ApiError("InvalidParameters", "commands is required")
        timeout = int((params.get("executionTimeout") or ["3600"])[0])
        command_id = str(uuid.uuid4())
        command = {
            "CommandId": command_id,
            "DocumentName": "AWS-RunShellScript",
            "DocumentVersion": "$DEFAULT",
            "Comment": body.get("Comment", ""),
            "Parameters": params,
            "InstanceIds": ids,
            "Targets": body.get("Targets") or [],
            "RequestedDateTime": time.time(),
            "Status": "Pending",
            "StatusDetails": "Pending",
            "OutputS3BucketName": body.get("OutputS3BucketName", ""),
            "OutputS3KeyPrefix": body.get("OutputS3KeyPrefix", ""),
            "MaxConcurrency": body.get("MaxConcurrency", "50"),
            "MaxErrors": body.get("MaxErrors", "0"),
            "TargetCount": len(ids),
            "TimeoutSeconds": body.get("TimeoutSeconds", 3600),
        }
        with self.lock:
            self.commands[command_id] = command
            for instance in ids:
                self.invocations[(command_id, instance)] = Invocation(command, instance)
        invs = [self.invocations[(command_id, i)] for i in ids]
        threading.Thread(target=self.schedule, args=(command, invs, "\n".join(commands), timeout),
                         daemon=True).start()
        return {"Command": command}

    @staticmethod
    def amount(value, total):
        """MaxConcurrency / MaxErrors: a number, or a percentage of the targets."""
        value = str(value).strip()
        if value.endswith("%"):
            return total * int(value[:-1]) // 100
        return int(value)

    def deadline(self, command):
        if self.delivery_timeout is not None:
            return command["RequestedDateTime"] + self.delivery_timeout / 1000.0
        return command["RequestedDateTime"] + command["TimeoutSeconds"]

    def schedule(self, command, invs, script, timeout):
        """Runs the invocations under MaxConcurrency and MaxErrors."""
        total = len(invs)
        concurrency = max(1, self.amount(command["MaxConcurrency"], total))
        max_errors = self.amount(command["MaxErrors"], total)
        queue, running = list(invs), []
        while queue or running:
            running = [t for t in running if t.is_alive()]
            with self.lock:
                errors = sum(1 for i in invs if i.status == "Failed"
                             or i.details == "ExecutionTimedOut")
            if errors > max_errors:
                for inv in queue:
                    self.end(inv, "Cancelled", "Terminated", -1)
                queue = []
            if queue and time.time() >= self.deadline(command):
                for inv in queue:
                    self.end(inv, "TimedOut", "DeliveryTimedOut", -1)
                queue = []
            while queue and len(running) < concurrency:
                inv = queue.pop(0)
                if inv.status in TERMINAL:
                    continue
                thread = threading.Thread(target=self.execute, args=(inv, script, timeout),
                                          daemon=True)
                thread.start()
                running.append(thread)
            time.sleep(0.01)

    def execute(self, inv, script, timeout):
        time.sleep(self.pending)
        instance = self.instances[inv.instance]
        if not instance.get("online", True):
            # Never delivered: stays Pending until the delivery timeout.
            deadline = self.deadline(inv.command)
            while time.time() < deadline and not inv.cancelled:
                time.sleep(0.05)
            self.end(inv, "TimedOut", "DeliveryTimedOut", -1)
            return
        with self.lock:
            if inv.cancelled:
                return
            inv.status = inv.details = "InProgress"
            inv.started = time.time()
        stuck = self.faults.get("stuck")
        listed = isinstance(stuck, list) and inv.instance in stuck
        if stuck is True or listed or instance.get("stuck"):
            inv.done.wait()
            return
        if instance.get("broken"):
            with self.lock:
                inv.stderr = "failed to run commands: exit status 1"
            self.end(inv, "Failed", "Failed", 1)
            return
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.workdir(inv.instance),
            "TMPDIR": self.workdir(inv.instance, "tmp"),
            "LANG": "C.UTF-8",
            "AWS_SSM_INSTANCE_ID": inv.instance,
            "AWS_SSM_REGION_NAME": self.region,
        }
        with self.lock:
            if inv.cancelled:
                return
            inv.proc = subprocess.Popen(
                ["bash", "-c", script], cwd=self.workdir(inv.instance), env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True)
        try:
            out, err = inv.proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            self.kill(inv)
            out, err = inv.proc.communicate()
            timed_out = True
        rc = inv.proc.returncode
        stdout = out.decode("utf-8", "replace")
        stderr = err.decode("utf-8", "replace")
        if rc != 0 and not timed_out and not inv.cancelled:
            # The agent's own note on any non-zero exit.
            if stderr and not stderr.endswith("\n"):
                stderr += "\n"
            stderr += f"failed to run commands: exit status {rc}"
        with self.lock:
            inv.stdout = self.cut(stdout, self.faults.get("stdout_cap", 24000))
            inv.stderr = self.cut(stderr, self.faults.get("stderr_cap", 8000))
        self.store(inv, "stdout", out)
        self.store(inv, "stderr", err)
        if inv.cancelled:
            return
        if timed_out:
            self.end(inv, "TimedOut", "ExecutionTimedOut", -1)
        elif rc == 0:
            self.end(inv, "Success", "Success", 0)
        else:
            self.end(inv, "Failed", "Failed", rc)

    @staticmethod
    def cut(text, cap):
        data = text.encode("utf-8")
        if len(data) < cap:
            return text
        return data[:cap - len(TRUNCATED)].decode("utf-8", "replace") + TRUNCATED

    def end(self, inv, status, details, rc):
        with self.lock:
            if inv.status in TERMINAL:
                return
            inv.status, inv.details, inv.rc = status, details, rc
            inv.ended = time.time()
        inv.done.set()

    @staticmethod
    def kill(inv):
        if inv.proc and inv.proc.poll() is None:
            try:
                os.killpg(inv.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # ---- reading invocations -------------------------------------------

    def find(self, command_id, instance):
        if command_id not in self.commands:
            raise ApiError("InvalidCommandId", f"command {command_id} does not exist")
        inv = self.invocations.get((command_id, instance))
        if inv is None:
            raise ApiError("InvocationDoesNotExist", "no such invocation")
        return inv

    def op_GetCommandInvocation(self, body):
        inv = self.find(body.get("CommandId"), body.get("InstanceId"))
        with self.lock:
            inv.polls += 1
            if inv.polls <= self.faults.get("missing_polls", 0):
                raise ApiError("InvocationDoesNotExist", "the invocation is not listed yet")
            done = inv.status in TERMINAL
            return {
                "CommandId": inv.command["CommandId"],
                "InstanceId": inv.instance,
                "Comment": inv.command["Comment"],
                "DocumentName": "AWS-RunShellScript",
                "DocumentVersion": "$DEFAULT",
                "PluginName": "aws:runShellScript",
                "ResponseCode": inv.rc,
                "ExecutionStartDateTime": iso(inv.started),
                "ExecutionElapsedTime": "PT%.3fS" % ((inv.ended or time.time()) - (inv.started or time.time())),
                "ExecutionEndDateTime": iso(inv.ended),
                "Status": inv.status,
                "StatusDetails": inv.details,
                "StandardOutputContent": inv.stdout if done else "",
                "StandardOutputUrl": self.s3_url(inv, "stdout"),
                "StandardErrorContent": inv.stderr if done else "",
                "StandardErrorUrl": self.s3_url(inv, "stderr"),
                "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
            }

    @staticmethod
    def s3_key(inv, stream):
        prefix = inv.command["OutputS3KeyPrefix"].strip("/")
        return "/".join(p for p in (prefix, inv.command["CommandId"], inv.instance,
                                    "awsrunShellScript", "0.awsrunShellScript", stream) if p)

    def s3_url(self, inv, stream):
        bucket = inv.command["OutputS3BucketName"]
        if not bucket:
            return ""
        return f"https://s3.{self.region}.amazonaws.com/{bucket}/{self.s3_key(inv, stream)}"

    def s3_path(self, bucket, key):
        path = os.path.normpath(os.path.join(self.state_dir, "s3", bucket, key))
        if not path.startswith(os.path.join(self.state_dir, "s3") + os.sep):
            raise ValueError("key outside the bucket")
        return path

    def store(self, inv, stream, data):
        """The agent's upload of the full output, when the command has a bucket."""
        bucket = inv.command["OutputS3BucketName"]
        if not bucket or not data:
            return
        path = self.s3_path(bucket, self.s3_key(inv, stream))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def get_object(self, bucket, key):
        """S3 GetObject: (status, body, error code)."""
        fault = self.faults.get("s3")
        if fault == "AccessDenied":
            return 403, b"", "AccessDenied"
        if fault == "NoSuchKey":
            return 404, b"", "NoSuchKey"
        try:
            with open(self.s3_path(bucket, key), "rb") as f:
                return 200, f.read(), None
        except (OSError, ValueError):
            return 404, b"", "NoSuchKey"

    def page(self, items, body, most=None):
        most = most or self.page_size
        start = int(body.get("NextToken") or 0)
        size = min(int(body.get("MaxResults") or most), most)
        chunk = items[start:start + size]
        token = str(start + size) if start + size < len(items) else None
        return chunk, token

    def op_ListCommandInvocations(self, body):
        with self.lock:
            command = self.commands.get(body.get("CommandId"))
            if command is not None and not body.get("NextToken"):
                command["_listings"] = command.get("_listings", 0) + 1
            if command is not None and command.get("_listings", 0) <= self.faults.get("missing_polls", 0):
                # Just after SendCommand the service may not list the invocations yet.
                return {"CommandInvocations": []}
            invs = [i for (c, n), i in self.invocations.items()
                    if body.get("CommandId") in (None, c) and body.get("InstanceId") in (None, n)]
            items = []
            for inv in invs:
                item = {
                    "CommandId": inv.command["CommandId"],
                    "InstanceId": inv.instance,
                    "InstanceName": self.instances[inv.instance].get("computer_name", ""),
                    "Comment": inv.command["Comment"],
                    "DocumentName": "AWS-RunShellScript",
                    "DocumentVersion": "$DEFAULT",
                    "RequestedDateTime": inv.command["RequestedDateTime"],
                    "Status": inv.status,
                    "StatusDetails": inv.details,
                    "StandardOutputUrl": self.s3_url(inv, "stdout"),
                    "StandardErrorUrl": self.s3_url(inv, "stderr"),
                }
                if body.get("Details"):
                    item["CommandPlugins"] = [{
                        "Name": "aws:runShellScript",
                        "Status": inv.status,
                        "StatusDetails": inv.details,
                        "ResponseCode": inv.rc,
                        # ListCommandInvocations shows only the first 2,500 characters.
                        "Output": (inv.stdout + inv.stderr)[:2500],
                    }]
                items.append(item)
        chunk, token = self.page(items, body, self.invocation_page_size)
        out = {"CommandInvocations": chunk}
        if token:
            out["NextToken"] = token
        return out

    def op_CancelCommand(self, body):
        command_id = body.get("CommandId")
        if command_id not in self.commands:
            raise ApiError("InvalidCommandId", f"command {command_id} does not exist")
        wanted = body.get("InstanceIds") or self.commands[command_id]["InstanceIds"]
        for instance in wanted:
            inv = self.invocations.get((command_id, instance))
            if inv is None:
                raise ApiError("InvalidInstanceId", f"{instance} is not part of {command_id}")
            with self.lock:
                if inv.status in TERMINAL:
                    continue
                inv.cancelled = True
            self.kill(inv)
            self.end(inv, "Cancelled", "Cancelled", -1)
        return {}

    # ---- discovery ------------------------------------------------------

    def op_DescribeInstanceInformation(self, body):
        filters = body.get("Filters") or []
        chosen = []
        for instance_id, d in self.instances.items():
            keep = True
            for f in filters:
                key, values = f.get("Key", ""), f.get("Values", [])
                if key.startswith("tag:"):
                    keep &= d.get("tags", {}).get(key[4:]) in values
                elif key == "PingStatus":
                    keep &= ("Online" if d.get("online", True) else "ConnectionLost") in values
                else:
                    raise ApiError("InvalidFilterKey", f"filter key {key} is not supported")
            if keep:
                chosen.append({
                    "InstanceId": instance_id,
                    "PingStatus": "Online" if d.get("online", True) else "ConnectionLost",
                    "LastPingDateTime": time.time(),
                    "AgentVersion": "3.3.0.0",
                    "IsLatestVersion": True,
                    "PlatformType": "Linux",
                    "PlatformName": d.get("platform", "Amazon Linux"),
                    "PlatformVersion": "2023",
                    "ResourceType": "EC2Instance",
                    "IPAddress": d.get("ip", "10.0.0.1"),
                    "ComputerName": d.get("computer_name", instance_id),
                })
        chunk, token = self.page(chosen, body)
        out = {"InstanceInformationList": chunk}
        if token:
            out["NextToken"] = token
        return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        """S3 GetObject, path style: GET /<bucket>/<key>."""
        em = self.emulator
        if em.faults.get("hang"):
            time.sleep(3600)
            return
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        bucket, _, key = path.lstrip("/").partition("/")
        status, data, error = em.get_object(bucket, key)
        em.record({"operation": "GetObject", "request": {"Bucket": bucket, "Key": key},
                   "status": status, "error": error,
                   "signed": self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")})
        if error:
            messages = {"AccessDenied": "Access Denied",
                        "NoSuchKey": "The specified key does not exist."}
            data = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
                    '<Message>%s</Message><RequestId>0</RequestId></Error>'
                    % (error, messages[error])).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml" if error else "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amz-request-id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        em = self.emulator
        if em.faults.get("hang"):
            # Accepted, read, and never answered: a black hole.
            time.sleep(3600)
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        target = self.headers.get("X-Amz-Target", "")
        operation = target.split(".", 1)[1] if target.startswith("AmazonSSM.") else target
        signed = self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        try:
            if not isinstance(body, dict):
                raise ApiError("SerializationException", "the request body is not a JSON object")
            result, status = em.call(operation, body), 200
        except ApiError as e:
            result, status = {"__type": e.code, "message": e.message}, 400
        except Exception as e:  # a bug here must still answer, or the client hangs
            result, status = {"__type": "InternalServerError", "message": repr(e)}, 500
        em.record({"operation": operation, "request": body, "status": status,
                   "error": result.get("__type") if status != 200 else None, "signed": signed})
        data = json.dumps(result).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if status != 200:
            self.send_header("X-Amzn-ErrorType", result["__type"])
        self.end_headers()
        self.wfile.write(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--config", default="{}")
    args = parser.parse_args()
    os.makedirs(args.state_dir, exist_ok=True)
    Handler.emulator = Emulator(args.state_dir, json.loads(args.config))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    # The test that started us holds our stdin: when it goes, so do we.
    sys.stdin.read()
    for inv in list(Handler.emulator.invocations.values()):
        Emulator.kill(inv)
    os._exit(0)


if __name__ == "__main__":
    main()
