//! The spec language refuses what it does not understand: each mistake is a
//! build error naming the key or field, where it is and what is allowed.
//! Each test starts from a small spec that builds (`base`), makes one
//! mistake, and asserts the message.

use corp_auth_codegen::{build_outputs, model, parse};

/// A small spec in the crate's conventions: an error envelope, a managed
/// credential, a read and a one-shot call.
const BASE: &str = r##"
openapi: 3.0.3
info: {title: t, version: "1"}
servers:
  - url: https://api.example.invalid
x-credentials:
  suite_access_token:
    managed-by: Suite
    rejected: [40082, 42009]
paths:
  /read:
    get:
      operationId: read_thing
      summary: a read
      parameters:
        - name: suite_access_token
          in: query
          required: true
          schema: {type: string, format: password, minLength: 1, maxLength: 64}
        - name: label
          in: query
          required: true
          schema: {type: string, maxLength: 8}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                anyOf:
                  - $ref: "#/components/schemas/Thing"
                  - $ref: "#/components/schemas/Err"
  /exchange:
    post:
      operationId: exchange
      summary: a one-shot call
      #ONE_SHOT
      parameters:
        - name: suite_access_token
          in: query
          required: true
          schema: {type: string, format: password, minLength: 1, maxLength: 64}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/ExchangeRequest"
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Err"
components:
  schemas:
    Err:
      x-error-envelope: true
      type: object
      required: [errcode]
      properties:
        errcode: {type: integer, format: int64}
        errmsg: {type: string}
    Thing:
      type: object
      required: [name]
      properties:
        errcode: {type: integer, format: int64}
        name: {type: string}
        #THING
    ExchangeRequest:
      type: object
      required: [auth_code]
      properties:
        auth_code: {type: string, format: password, minLength: 1}
"##;

fn base() -> String {
    BASE.replace("#ONE_SHOT", "x-one-shot: true\n      x-one-shot-input: auth_code")
}

/// Parses and generates as build.rs does; the error it would fail with.
fn build(text: &str) -> Result<(), String> {
    let spec = parse(text)?;
    build_outputs("wecom", &spec).map(drop)
}

/// The base spec with `line` added to `read_thing`'s extensions.
fn read_with(line: &str) -> String {
    base().replace(
        "      summary: a read\n",
        &format!("      summary: a read\n      {line}\n"),
    )
}

fn refused(text: &str) -> String {
    match build(text) {
        Ok(()) => panic!("the spec built:\n{text}"),
        Err(e) => e,
    }
}

fn assert_says(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "`{part}` not in: {message}");
    }
}

#[test]
fn the_base_spec_builds_with_its_facts() {
    let spec = parse(&base()).unwrap();
    let model = model::Model::read(&spec).unwrap();
    let exchange = model.operation("exchange");
    let one_shot = exchange.one_shot.as_ref().unwrap();
    assert_eq!(one_shot.input.as_deref(), Some("auth_code"));
    assert!(!exchange.idempotent, "one-shot implies non-idempotent");
    assert!(model.operation("read_thing").idempotent);
    assert_eq!(model.credentials[0].managed_by, "Suite");
    assert_eq!(model.envelope.as_ref().unwrap().code, "errcode");
    let out = build_outputs("wecom", &spec).unwrap();
    let ops: Vec<_> = out
        .operations
        .iter()
        .filter(|o| !o.raw)
        .map(|o| (o.operation_id.as_str(), o.idempotent))
        .collect();
    assert_eq!(ops, [("read_thing", true), ("exchange", false)]);
}

#[test]
fn unknown_key_on_an_operation_is_refused_with_a_suggestion() {
    let text = base().replace("x-one-shot: true", "x-one-shoot: true");
    let e = refused(&text);
    assert_says(
        &e,
        &[
            "paths./exchange.post: unknown extension `x-one-shoot`",
            "did you mean `x-one-shot`?",
            "allowed here: `x-one-shot`",
            "`x-idempotent`",
        ],
    );
}

#[test]
fn unknown_keys_at_every_level_are_refused() {
    let cases = [
        (
            "x-credentials:",
            "x-vendor: 1\nx-credentials:",
            "the document: unknown extension `x-vendor`",
        ),
        (
            "        - name: label\n",
            "        - name: label\n          x-secret: true\n",
            "paths./read.get.parameters[1]: unknown extension `x-secret`; no extension is allowed here",
        ),
        (
            "        #THING",
            "        nick: {type: string, x-nullable: true}",
            "components.schemas.Thing.properties.nick: unknown extension `x-nullable`",
        ),
        (
            "    Thing:\n      type: object",
            "    Thing:\n      x-kind: answer\n      type: object",
            "components.schemas.Thing: unknown extension `x-kind`; allowed here: `x-error-envelope`",
        ),
        (
            "  /read:\n    get:",
            "  /read:\n    x-group: a\n    get:",
            "paths./read: unknown extension `x-group`",
        ),
    ];
    for (from, to, expected) in cases {
        let text = base().replacen(from, to, 1);
        assert_ne!(text, base(), "the case did not apply: {from}");
        assert_says(&refused(&text), &[expected]);
    }
}

#[test]
fn a_key_beside_a_ref_is_seen() {
    // openapiv3 drops anything beside `$ref`: the check reads the YAML.
    let text = base().replace(
        "              $ref: \"#/components/schemas/ExchangeRequest\"",
        "              $ref: \"#/components/schemas/ExchangeRequest\"\n              x-one-shot: true",
    );
    assert_says(
        &refused(&text),
        &["requestBody.content.application/json.schema: `x-one-shot` is not allowed here: it belongs on an operation"],
    );
}

#[test]
fn examples_may_carry_x_keys_of_their_own() {
    let text = base().replace(
        "        name: {type: string}",
        "        name: {type: string, example: {x-trace: 1}}",
    );
    build(&text).unwrap();
}

#[test]
fn known_key_in_the_wrong_place_says_where_it_belongs() {
    let text = base().replace(
        "    Err:\n      x-error-envelope: true",
        "    Err:\n      x-idempotent: false\n      x-error-envelope: true",
    );
    assert_says(
        &refused(&text),
        &["components.schemas.Err: `x-idempotent` is not allowed here: it belongs on an operation"],
    );
}

#[test]
fn values_of_the_wrong_type_are_refused() {
    let cases = [
        (
            "x-one-shot: true",
            "x-one-shot: \"yes\"",
            "`x-one-shot` must be true or false, not \"yes\"",
        ),
        (
            "x-one-shot: true",
            "x-one-shot: true\n      x-idempotent: 0",
            "`x-idempotent` must be true or false, not 0",
        ),
        (
            "x-error-envelope: true",
            "x-error-envelope: yes-please",
            "`x-error-envelope` must be true",
        ),
    ];
    for (from, to, expected) in cases {
        assert_says(&refused(&base().replace(from, to)), &[expected]);
    }
    let returns = read_with("x-returns: 5");
    assert_says(
        &refused(&returns),
        &[
            "paths./read.get: `x-returns` must be one of `AccessToken`, `PreAuthCode`, `JsapiTicket` or `{field: <answer field>}`, not 5",
        ],
    );
    let unknown_type = read_with("x-returns: Token");
    assert_says(
        &refused(&unknown_type),
        &["`x-returns` must be one of", "not \"Token\""],
    );
}

#[test]
fn names_must_refer_to_something() {
    let input = base().replace("x-one-shot-input: auth_code", "x-one-shot-input: authcode");
    assert_says(
        &refused(&input),
        &[
            "paths./exchange.post: `x-one-shot-input` names `authcode`, which is no input of the operation; its inputs: `suite_access_token`, `auth_code`",
        ],
    );
    let arguments = read_with("x-arguments:\n        lable: AuthType");
    assert_says(
        &refused(&arguments),
        &["paths./read.get: `x-arguments.lable` names `lable`, which is no input of the operation"],
    );
    let issues = read_with("x-issues-credential: access_token");
    assert_says(
        &refused(&issues),
        &[
            "paths./read.get: `x-issues-credential: access_token` names no credential of `x-credentials` (`suite_access_token`)",
        ],
    );
    let field = read_with("x-returns-field: nam");
    assert_says(
        &refused(&field),
        &["paths./read.get: `x-returns-field: nam` is no field of the answer"],
    );
    let managed = base().replace("managed-by: Suite", "managed-by: Suit");
    assert_says(
        &refused(&managed),
        &["x-credentials.suite_access_token: `managed-by` must name the managed type: one of Suite, Provider, Corp"],
    );
}

#[test]
fn conflicting_keys_are_refused() {
    let both = read_with("x-returns: AccessToken\n      x-returns-field: name");
    assert_says(
        &refused(&both),
        &["paths./read.get: `x-returns` and `x-returns-field` conflict"],
    );
    let idempotent_one_shot = base().replace("x-one-shot: true", "x-one-shot: true\n      x-idempotent: true");
    assert_says(
        &refused(&idempotent_one_shot),
        &["paths./exchange.post: `x-one-shot: true` with `x-idempotent: true`: a one-shot call is never idempotent"],
    );
    let orphan = BASE.replace("#ONE_SHOT", "x-one-shot-input: auth_code");
    assert_says(
        &refused(&orphan),
        &[
            "paths./exchange.post: `x-one-shot-input`, `x-one-shot-note` and `x-one-shot-kept-on-credential-rejection` only go with `x-one-shot: true`",
        ],
    );
    let two = base().replace(
        "    Thing:\n      type: object",
        "    Thing:\n      x-error-envelope: true\n      type: object",
    );
    assert_says(
        &refused(&two),
        &["components.schemas.Thing: a second `x-error-envelope` (the first is `Err`)"],
    );
}

#[test]
fn a_success_answer_without_the_code_field_is_refused() {
    let text = base().replace(
        "        errcode: {type: integer, format: int64}\n        name:",
        "        name:",
    );
    assert_says(
        &refused(&text),
        &[
            "paths./read.get.responses.200.application/json: the success answer `Thing` has no `errcode` property",
            "would decode as a success with every field empty",
        ],
    );
}

#[test]
fn x_returns_field_object_form_is_the_same_as_x_returns_field() {
    let a = read_with("x-returns-field: name");
    let b = read_with("x-returns: {field: name}");
    let (a, b) = (parse(&a).unwrap(), parse(&b).unwrap());
    assert_eq!(
        model::Model::read(&a).unwrap().operation("read_thing"),
        model::Model::read(&b).unwrap().operation("read_thing")
    );
    assert_eq!(
        build_outputs("wecom", &a).unwrap().facade,
        build_outputs("wecom", &b).unwrap().facade
    );
}

#[test]
fn the_shipped_specs_use_only_the_table() {
    for name in ["wecom", "chengxun"] {
        let text = std::fs::read_to_string(format!("{}/../openapi/{name}.yaml", env!("CARGO_MANIFEST_DIR"))).unwrap();
        build(&text).unwrap_or_else(|e| panic!("openapi/{name}.yaml: {e}"));
    }
}

#[test]
fn rules_belong_to_each_operations_input_and_constants_have_none() {
    // `label` is 0..=8 on read_thing and 2..=99 on exchange; `grant_type` is
    // a constant the client sends.
    let text = base()
        .replace(
            "        auth_code: {type: string, format: password, minLength: 1}",
            "        auth_code: {type: string, format: password, minLength: 1}\n        label: {type: string, minLength: 2, maxLength: 99}",
        )
        .replace(
            "          schema: {type: string, maxLength: 8}\n",
            "          schema: {type: string, maxLength: 8}\n        - name: grant_type\n          in: query\n          required: true\n          schema: {type: string, enum: [authorization_code], maxLength: 32}\n",
        );
    let spec = parse(&text).unwrap();
    let out = build_outputs("wecom", &spec).unwrap();
    let rule = |op: &str, input: &str| {
        out.facts
            .rules
            .get(&(op.to_string(), input.to_string()))
            .map(|r| (r.min, r.max))
    };
    assert_eq!(rule("read_thing", "label"), Some((0, Some(8))));
    assert_eq!(rule("exchange", "label"), Some((2, Some(99))));
    assert_eq!(rule("read_thing", "grant_type"), None);
    // Checked inline by each method; nothing per name is emitted.
    let facade: String = out.facade.split_whitespace().collect();
    assert!(
        facade.contains(r#"crate::validate::Rule{name:"label",min_chars:2,max_chars:Some(99),}"#),
        "{}",
        out.facade
    );
    assert!(facade.contains(r#"crate::validate::Rule{name:"label",min_chars:0,max_chars:Some(8),}"#));
    assert!(!facade.contains(r#"name:"grant_type""#));
    assert!(!out.facts_code.contains("LABEL"), "{}", out.facts_code);
}

#[test]
fn managed_types_find_issuers_through_the_spec() {
    // Marked: an `issue_<credential>_with_<carried>` alias for the managed type.
    let marked = read_with("x-issues-credential: suite_access_token");
    let spec = parse(&marked).unwrap();
    let facade: String = build_outputs("wecom", &spec)
        .unwrap()
        .facade
        .split_whitespace()
        .collect();
    assert!(
        facade.contains("pub(crate)fnissue_suite_access_token_with_suite_access_token<'a>"),
        "{facade}"
    );
    // Two issuers of one credential with the same carried credential: which
    // one would the managed type call?
    let twice = marked.replace(
        "      summary: a one-shot call\n",
        "      summary: a one-shot call\n      x-issues-credential: suite_access_token\n",
    );
    assert_says(
        &refused(&twice),
        &["`read_thing` and `exchange` both issue `suite_access_token` with the same credential"],
    );
}

#[test]
fn an_all_of_success_answer_needs_the_code_in_one_of_its_parts() {
    let thing = "    Thing:\n      type: object\n      required: [name]\n      properties:\n        errcode: {type: integer, format: int64}\n        name: {type: string}\n";
    assert!(base().contains(thing));
    let without = base().replace(
        thing,
        "    Thing:\n      allOf:\n        - type: object\n          properties:\n            name: {type: string}\n        - type: object\n          properties:\n            nick: {type: string}\n",
    );
    assert_says(
        &refused(&without),
        &["the success answer `Thing` has no `errcode` property"],
    );
    let with = without.replace(
        "            nick: {type: string}\n",
        "            errcode: {type: integer, format: int64}\n",
    );
    let spec = parse(&with).unwrap();
    corp_auth_codegen::model::Model::read(&spec).unwrap();
}

#[test]
fn x_cached_as_caches_an_expiring_read_on_the_managed_type_only() {
    // A read whose answer is a secret with a lifetime.
    let ticket = base()
        .replace(
            "        #THING",
            "        ticket: {type: string, format: password}\n        expires_in: {type: integer, format: int64}",
        )
        .replace(
            "      required: [name]\n",
            "      required: [name, ticket, expires_in]\n",
        );
    let without_label = ticket.replace(
        "        - name: label\n          in: query\n          required: true\n          schema: {type: string, maxLength: 8}\n",
        "",
    );
    let ok = without_label.replace(
        "      summary: a read\n",
        "      summary: a read\n      x-returns: JsapiTicket\n      x-cached-as: read_ticket\n",
    );
    let spec = parse(&ok).unwrap();
    let outputs = build_outputs("wecom", &spec).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        outputs.facade.contains("pub async fn read_ticket(&self)"),
        "the managed method"
    );
    assert!(outputs.facade.contains("CachedValues::cached"));
    assert!(
        outputs
            .facade
            .contains(r#"const CACHED: &'static [&'static str] = &["read_ticket"]"#)
    );
    // The operation stays on the raw client, not on the managed type.
    assert!(
        outputs
            .facade
            .contains("pub fn read_thing<'a>(\n        &'a self,\n        suite_access_token: &'a str")
    );
    assert!(!outputs.facade.contains("calls::ReadThing<'a, &'a Self>"));
    let fact = outputs
        .operations
        .iter()
        .find(|o| o.operation_id == "read_thing")
        .unwrap();
    assert_eq!(fact.cached_as.as_deref(), Some("read_ticket"));

    // Refused: without an expiring x-returns; on a write; not snake_case;
    // with a required input the managed method could not take.
    let with =
        |spec: &str, lines: &str| spec.replace("      summary: a read\n", &format!("      summary: a read\n{lines}"));
    assert_says(
        &refused(&with(&without_label, "      x-cached-as: read_ticket\n")),
        &[
            "paths./read.get: `x-cached-as` caches a value with a lifetime: it needs `x-returns: AccessToken` or `JsapiTicket`",
        ],
    );
    assert_says(
        &refused(&with(
            &without_label,
            "      x-returns: JsapiTicket\n      x-cached-as: read_ticket\n      x-idempotent: false\n",
        )),
        &["`x-cached-as` on a one-shot call or a write"],
    );
    assert_says(
        &refused(&with(
            &without_label,
            "      x-returns: JsapiTicket\n      x-cached-as: ReadTicket\n",
        )),
        &["`x-cached-as: ReadTicket` must be a snake_case method name"],
    );
    assert_says(
        &refused(&with(
            &ticket,
            "      x-returns: JsapiTicket\n      x-cached-as: read_ticket\n",
        )),
        &["`x-cached-as` needs an operation whose only required input is its credential; `label` is required"],
    );
    // In the wrong place: on a schema.
    let misplaced = ok.replace(
        "    Thing:\n      type: object",
        "    Thing:\n      x-cached-as: t\n      type: object",
    );
    assert_says(
        &refused(&misplaced),
        &["`x-cached-as` is not allowed here: it belongs on an operation"],
    );
}

#[test]
fn every_managed_type_gets_raw_read_and_write_operations() {
    let spec = parse(&base()).unwrap();
    let outputs = build_outputs("wecom", &spec).unwrap();
    let raw: Vec<(&str, bool)> = outputs
        .operations
        .iter()
        .filter(|o| o.raw)
        .map(|o| (o.operation_id.as_str(), o.idempotent))
        .collect();
    assert_eq!(raw, [("raw_suite_read", true), ("raw_suite_write", false)]);
    let table = corp_auth_codegen::operations_table(&outputs.operations, &outputs.credentials);
    assert!(
        table.contains("[`Suite::post`](Suite::post) | `POST (any path)` | **write** |"),
        "{table}"
    );
}
