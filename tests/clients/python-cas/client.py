"""python-cas (PyPI, unchanged) as a CAS service's back end would use it.

Reads one JSON command on stdin and prints one JSON answer:
  {"do": "login_url", "server_url", "service_url", "version", "renew"} -> {"url"}
  {"do": "verify", "server_url", "service_url", "version", "renew", "ticket"}
      -> {"user", "attributes", "pgtiou"}
  {"do": "logout", "body", "ticket"} -> {"valid"}: the library's check of a single-logout
      POST body, read as a web framework reads the form field.
"""
import json
import sys
from urllib.parse import parse_qs

from cas import CASClient


def client(c):
    return CASClient(version=c["version"], server_url=c["server_url"],
                     service_url=c["service_url"], renew=c.get("renew", False))


def main():
    c = json.load(sys.stdin)
    if c["do"] == "login_url":
        out = {"url": client(c).get_login_url()}
    elif c["do"] == "verify":
        user, attributes, pgtiou = client(c).verify_ticket(c["ticket"])
        out = {"user": user, "attributes": attributes, "pgtiou": pgtiou}
    elif c["do"] == "logout":
        field = parse_qs(c["body"])["logoutRequest"][0]
        client_v3 = CASClient(version=3, server_url="https://unused.example/cas/",
                              service_url="https://unused.example/")
        out = {"valid": client_v3.verify_logout_request(field, c["ticket"])}
    else:
        raise SystemExit(f"unknown command {c['do']}")
    json.dump(out, sys.stdout)


main()
