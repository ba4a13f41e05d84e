#!/usr/bin/env python3
"""A loopback server replaying real answers of both platforms, for
scripts/prism-check.sh: each request's `x-replay` header names the answer.

Error answers are the platforms' real shapes (HTTP 200, error envelope, no
payload); successes are the vendors' documented examples.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

ANSWERS = {
    # 橙讯: a real error (预授权码过期) and the documented success.
    "cx-error": {"err_code": 40006, "err_msg": "预授权码过期"},
    "cx-error-spent": {"err_code": 40007, "err_msg": "永久授权码已存在"},
    "cx-ok": {"err_code": 0, "err_msg": "success",
              "corp_secret": "3y50kdq9CdS9ROO4_p6B7Y6je771Dml4d_c9AVYkxZt6V9BqL3_TyG99H9681kCkf2i"},
    # WeCom: real error answers as WeCom words them, and documented successes.
    "wc-ticket": {"errcode": 40085, "errmsg": "invalid suite_ticket, hint: [1654509785455213612928940], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=40085"},
    "wc-token": {"errcode": 40082, "errmsg": "invalid suite_acccess_token, hint: [1574162516_60_8dad776d5a6abe0ade52d91039f94799]"},
    "wc-expired": {"errcode": 42009, "errmsg": "suite_access_token expired"},
    "wc-authcode": {"errcode": 40078, "errmsg": "invalid auth_code"},
    "wc-permanent": {"errcode": 40084, "errmsg": "invalid permanent_code"},
    "wc-busy": {"errcode": -1, "errmsg": "system busy"},
    "wc-suite-ok": {"suite_access_token": "61W3mEpU66027wgNZ_MhGHNQDHnFATkDa9-2llMBjUwxRSNPbVsMmyD-yq8wZETSoE5NQgecigDrSHkPtIYA", "expires_in": 7200},
    "wc-pre-ok": {"errcode": 0, "errmsg": "ok", "pre_auth_code": "Cx_Dk6qiBE0Dmx4EmlT3oRfArPvwSQ-oa3NL_fwHM7VI08r52wazoZX2Rhpz1dEw", "expires_in": 1200},
    "wc-session-ok": {"errcode": 0, "errmsg": "ok"},
    "wc-pc2-ok": {"errcode": 0, "errmsg": "ok", "permanent_code": "xxxx", "auth_corp_info": {"corpid": "xxxx", "corp_name": "name"},
                  "auth_user_info": {"userid": "aa", "open_userid": "xxxxxx", "name": "xxx", "avatar": "http://xxx"},
                  "register_code_info": {"register_code": "1111", "template_id": "tpl111", "state": "state001"}, "state": "state001"},
    "wc-info-ok": {"errcode": 0, "errmsg": "ok", "auth_corp_info": {"corpid": "xxxx", "corp_ex_name": {"name_list": "xx"}}},
    "wc-corp-ok": {"errcode": 0, "errmsg": "ok", "access_token": "xxxxxx", "expires_in": 7200},
}


class Replay(BaseHTTPRequestHandler):
    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = json.dumps(ANSWERS[self.headers["x-replay"]], ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json; charset=UTF-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = answer
    do_POST = answer

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), Replay).serve_forever()
