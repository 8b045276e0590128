"""Resource Manager (the fake ARM at AIBPACK_ARM_ENDPOINT, trusted through REQUESTS_CA_BUNDLE), as the builder
calls it."""

import json
import os
import ssl
import time
import urllib.error
import urllib.request

from . import Failed


def tls():
    return ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE") or None)


def http(request):
    try:
        with urllib.request.urlopen(request, context=tls(), timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()
    except (urllib.error.URLError, OSError) as err:
        raise Failed(f"{request.get_method()} {request.full_url}: {getattr(err, 'reason', err)}") from None


class Arm:
    """Resource Manager as the builder's go-azure-sdk clients call it: with the token it signed in for, long-running
    operations waited for (as its pollers do). A call gives (status, body)."""

    def __init__(self, token):
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def __call__(self, method, path, body=None):
        url = os.environ["AIBPACK_ARM_ENDPOINT"] + path + "?api-version=2024-03-01"
        data = json.dumps(body).encode() if body is not None else None
        status, headers, answer = http(urllib.request.Request(url, data=data, method=method, headers=self.headers))
        if status >= 300:
            return status, json.loads(answer or b"{}")
        operation = headers.get("Azure-AsyncOperation") or (headers.get("Location") if status == 202 else None)
        while operation:
            polled, _, raw = http(urllib.request.Request(operation, headers=self.headers))
            result = json.loads(raw) if raw else {}
            if polled == 202 or result.get("status") == "InProgress":
                time.sleep(0.01)
                continue
            if result.get("status") == "Failed":
                return 409, {"error": result.get("error")}
            break
        return status, json.loads(answer) if answer else {}


def must(status_body, what):
    status, body = status_body
    if status >= 300:
        error = body.get("error") or {}
        raise Failed(f"{what}: {error.get('code')}: {error.get('message')}")
    return body


def rid(sub, group, tail=""):
    return f"/subscriptions/{sub}/resourceGroups/{group}" + (f"/providers/Microsoft.Compute/{tail}" if tail else "")
