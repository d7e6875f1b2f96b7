"""The demo's AWS account and Latch org, set up the way their administrators
would: `scripts/demo` runs this with the project's moto venv (boto3).

  demo_seed.py aws MOTO_URL                    -> prints Latch's key pair (JSON)
  demo_seed.py latch LATCH_URL MOTO_URL STATE ENROLL_TOKEN -> enrolls the admin, adds alice,
      writes the policy, installs and verifies the AWS account (federated),
      creates the `Deploy` role; browser sessions are kept in STATE
  demo_seed.py approve STATE WHO USER_CODE     -> approves a CLI sign-in as WHO
"""

import http.cookiejar
import json
import sys
import urllib.request

import boto3

ACCOUNT = "123456789012"
PASSWORD = "correct horse battery staple"
POLICY = """
[[rule]]
name = "deploy"
requesters = "any"
resource = { kinds = ["role"], names = ["Deploy"] }
approval = { users = ["admin@demo.example"] }
default_duration = "15m"
max_duration = "1h"
"""


def aws(moto, key=None):
    creds = {"aws_access_key_id": key[0], "aws_secret_access_key": key[1]} if key else {"aws_access_key_id": "AKIADEMOSETUP", "aws_secret_access_key": "setup"}
    return lambda svc: boto3.client(svc, endpoint_url=moto, region_name="us-east-1", **creds)


def seed_aws(moto):
    iam = aws(moto)("iam")
    iam.create_user(UserName="latch")
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
    iam.put_user_policy(UserName="latch", PolicyName="latch", PolicyDocument=json.dumps(allow))
    k = iam.create_access_key(UserName="latch")["AccessKey"]
    print(json.dumps({"id": k["AccessKeyId"], "secret": k["SecretAccessKey"]}))


class Browser:
    """A signed-in browser session: cookies plus the CSRF token."""

    def __init__(self, base, jar_path=None, csrf=""):
        self.base = base
        self.jar = http.cookiejar.LWPCookieJar(jar_path) if jar_path else http.cookiejar.LWPCookieJar()
        if jar_path:
            self.jar.load(ignore_discard=True)
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = csrf

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        if self.csrf:
            req.add_header("x-csrf-token", self.csrf)
        try:
            with self.opener.open(req) as r:
                text = r.read()
        except urllib.error.HTTPError as e:
            sys.exit(f"demo: {method} {path} answered {e.code}: {e.read().decode()}")
        return json.loads(text) if text else None

    def enroll(self, token):
        self.csrf = self.call("POST", "/v1/orgs/demo/enroll", {"token": token, "password": PASSWORD})["csrf_token"]


def seed_latch(base, moto, state, enroll_token):
    admin = Browser(base)
    admin.enroll(enroll_token)
    admin.call("PUT", "/v1/policy", {"source": POLICY})
    added = admin.call("POST", "/v1/users", {"email": "alice@demo.example", "name": "Alice"})
    alice = Browser(base)
    alice.enroll(added["enrollment"]["token"])

    installed = admin.call("POST", "/v1/integrations/aws", {"account_id": ACCOUNT, "mode": "federated", "alias": "demo"})
    iam = aws(moto)("iam")
    role = json.loads(installed["documents"]["cloudformation"])["Resources"]["LatchIntegration"]["Properties"]
    iam.create_role(RoleName=role["RoleName"], AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]))
    policy = role["Policies"][0]
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"]))
    iam.create_open_id_connect_provider(Url=f"{base}/oidc/demo", ClientIDList=["sts.amazonaws.com"])
    trust = json.dumps(installed["role_trust_template"]).replace("ROLE/*", "Deploy/*")
    iam.create_role(RoleName="Deploy", AssumeRolePolicyDocument=trust)
    work = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sts:GetCallerIdentity"], "Resource": "*"}]}
    iam.put_role_policy(RoleName="Deploy", PolicyName="deploy", PolicyDocument=json.dumps(work))
    verified = admin.call("POST", f"/v1/integrations/aws/{ACCOUNT}/verify")
    if verified["integration"]["status"] != "installed":
        sys.exit(f"demo: the account did not verify: {json.dumps(verified)}")

    sessions = {}
    for who, b in (("admin", admin), ("alice", alice)):
        path = f"{state}/{who}.cookies"
        b.jar.save(path, ignore_discard=True)
        sessions[who] = {"cookies": path, "csrf": b.csrf}
    with open(f"{state}/sessions.json", "w") as f:
        json.dump(sessions, f)


def approve(state, who, code):
    with open(f"{state}/sessions.json") as f:
        s = json.load(f)[who]
    base = open(f"{state}/url").read().strip()
    Browser(base, s["cookies"], s["csrf"]).call("POST", "/v1/device", {"user_code": code, "approve": True})


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "aws":
        seed_aws(sys.argv[2])
    elif cmd == "latch":
        seed_latch(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif cmd == "approve":
        approve(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
