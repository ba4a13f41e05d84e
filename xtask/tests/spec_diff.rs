//! The mutation corpus: pairs of specs (`cases/base.yaml` and a mutation of
//! it) with the severities `spec-diff` must report, one case per rule, plus
//! a no-op reformatting.

use std::collections::{BTreeMap, BTreeSet};

use xtask::{Change, Severity, compare};

const BASE: &str = include_str!("cases/base.yaml");

/// (old, new) text replacements applied to the base spec.
type Edit<'a> = (&'a str, &'a str);

fn mutate(edits: &[Edit<'_>]) -> String {
    let mut text = BASE.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "the corpus edit does not apply: {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

fn run(old: &str, new: &str) -> Vec<Change> {
    let one = |text: &str| BTreeMap::from([("corpus".to_string(), text.to_string())]);
    compare(&one(old), &one(new), "old", "new").unwrap()
}

fn verdicts(changes: &[Change]) -> BTreeSet<String> {
    changes
        .iter()
        .map(|c| format!("{} {} {}", c.severity.as_str(), c.level.as_str(), c.rule))
        .collect()
}

#[track_caller]
fn case(edits: &[Edit<'_>], expected: &[&str]) {
    let changes = run(BASE, &mutate(edits));
    let got = verdicts(&changes);
    let want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want, "changes:\n{changes:#?}");
}

const LIST_ITEMS: &str = r##"  /items/list:
    get:
      operationId: list_items
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/ItemResponse"
"##;

// --- no change ---------------------------------------------------------------

/// Calling convention v2: required inputs are positional in an order taken
/// from ordered data only (the `parameters` list, the `required` list);
/// optional inputs are setters. Reordering mapping keys (properties) is no
/// change; reordering the `required` list reorders the arguments.
#[test]
fn reordering_body_properties_is_no_change_but_reordering_required_is_breaking() {
    let swapped = mutate(&[(
        "        kind:\n          type: string\n          enum: [a, b]\n        code:\n          type: string\n          format: password\n",
        "        code:\n          type: string\n          format: password\n        kind:\n          type: string\n          enum: [a, b]\n",
    )]);
    assert!(run(BASE, &swapped).is_empty(), "{:#?}", run(BASE, &swapped));
    // `name` and `code` both required (`&str`), then swapped in `required`:
    // existing calls still compile and send each value to the other input.
    let both = mutate(&[(
        "      required:\n        - name\n      properties:\n",
        "      required:\n        - name\n        - code\n      properties:\n",
    )]);
    let reordered = both.replacen(
        "        - name\n        - code\n",
        "        - code\n        - name\n",
        1,
    );
    let changes = run(&both, &reordered);
    assert_eq!(
        verdicts(&changes),
        // The wire sees a set: only the facade's order changed.
        BTreeSet::from(["breaking rust facade-arguments-reordered".to_string()]),
        "{changes:#?}"
    );
    let message = &changes
        .iter()
        .find(|c| c.rule == "facade-arguments-reordered")
        .unwrap()
        .message;
    assert!(
        message.contains("wrong inputs") && message.contains("name: &'a str, code: &'a str"),
        "{message}"
    );
}

#[test]
fn a_changed_credential_moves_the_managed_method_and_is_breaking() {
    let with_credentials = |managed: &str| {
        mutate(&[(
            "servers:\n",
            &format!(
                "x-credentials:\n  token:\n    managed-by: {managed}\n    rejected: [1]\n  other_token:\n    managed-by: Provider\n    rejected: [2]\nservers:\n"
            ),
        )])
    };
    let old = with_credentials("Suite");
    let new = old.replacen("        - name: token\n", "        - name: other_token\n", 1);
    let changes = run(&old, &new);
    let got = verdicts(&changes);
    assert!(got.contains("breaking build credential-changed"), "{changes:#?}");
    assert!(got.contains("breaking rust facade-method-removed"), "{changes:#?}");
    let moved: Vec<_> = changes
        .iter()
        .filter(|c| c.rule == "facade-method-removed")
        .map(|c| c.location.as_str())
        .collect();
    // The method and the way its request is sent on `Suite`.
    assert_eq!(
        moved,
        ["corpus::CreateItem<&'a Suite>::await", "corpus::Suite::create_item"]
    );
}

#[test]
fn reformatting_reordering_and_comments_are_no_change() {
    let changes = run(BASE, include_str!("cases/base-reformatted.yaml"));
    assert!(changes.is_empty(), "{changes:#?}");
}

// --- breaking ------------------------------------------------------------------

#[test]
fn operation_or_path_removed() {
    case(
        &[(LIST_ITEMS, "")],
        &[
            "breaking wire operation-removed",
            "breaking rust rust-method-removed",
            "breaking build operation-variant-removed",
            "breaking rust facade-method-removed",
        ],
    );
}

#[test]
fn new_required_parameter() {
    case(
        &[(
            "        - name: limit\n",
            "        - name: region\n          in: query\n          required: true\n          schema:\n            type: string\n        - name: limit\n",
        )],
        &[
            "breaking wire required-parameter-added",
            "breaking rust rust-method-signature-changed",
            "info build length-rule-added",
            "breaking rust facade-signature-changed",
        ],
    );
}

#[test]
fn parameter_became_required() {
    case(
        &[(
            "          in: query\n          required: false\n",
            "          in: query\n          required: true\n",
        )],
        &[
            "breaking wire parameter-became-required",
            "breaking rust rust-method-signature-changed",
            "breaking rust facade-signature-changed",
            // Its setter goes: it is an argument now.
            "breaking rust facade-method-removed",
        ],
    );
}

#[test]
fn new_required_request_property() {
    case(
        &[
            (
                "      required:\n        - name\n",
                "      required:\n        - name\n        - sku\n",
            ),
            (
                "        name:\n          type: string\n",
                "        sku:\n          type: string\n        name:\n          type: string\n",
            ),
        ],
        &[
            "breaking wire required-request-property-added",
            "breaking rust rust-field-added",
            "info build length-rule-added",
            "breaking rust facade-signature-changed",
        ],
    );
}

#[test]
fn request_property_became_required() {
    case(
        &[(
            "      required:\n        - name\n",
            "      required:\n        - name\n        - kind\n",
        )],
        &[
            "breaking wire request-property-became-required",
            "breaking rust facade-method-removed",
            "breaking rust rust-field-type-changed",
            "breaking rust facade-signature-changed",
        ],
    );
}

#[test]
fn max_length_lowered() {
    case(
        &[("          maxLength: 32\n", "          maxLength: 16\n")],
        &[
            "breaking wire constraint-tightened",
            "breaking build length-rule-tightened",
        ],
    );
}

#[test]
fn min_length_raised() {
    case(
        &[("            minLength: 1\n", "            minLength: 8\n")],
        &[
            "breaking wire constraint-tightened",
            "breaking build length-rule-tightened",
        ],
    );
}

#[test]
fn pattern_added() {
    case(
        &[(
            "          maxLength: 32\n",
            "          maxLength: 32\n          pattern: \"^[a-z]+$\"\n",
        )],
        &["breaking wire constraint-tightened"],
    );
}

#[test]
fn request_enum_value_removed() {
    case(
        &[("          enum: [a, b]\n", "          enum: [a]\n")],
        &[
            "breaking wire enum-value-removed",
            "breaking rust rust-variant-removed",
            // One value left: a constant the client sends, not an input:
            // its setter goes.
            "breaking rust facade-method-removed",
            "warning build length-rule-removed",
        ],
    );
}

#[test]
fn type_changed() {
    case(
        &[(
            "        id:\n          type: integer\n          format: int64\n",
            "        id:\n          type: string\n",
        )],
        &["breaking wire type-changed", "breaking rust rust-field-type-changed"],
    );
}

#[test]
fn format_changed() {
    case(
        &[(
            "        id:\n          type: integer\n          format: int64\n",
            "        id:\n          type: integer\n          format: int32\n",
        )],
        &["breaking wire format-changed", "breaking rust rust-field-type-changed"],
    );
}

#[test]
fn response_property_removed() {
    case(
        &[(
            "        label:\n          type: string\n          description: The label\n",
            "",
        )],
        &[
            "breaking wire response-property-removed",
            "breaking rust rust-field-removed",
        ],
    );
}

#[test]
fn response_property_became_optional() {
    case(
        &[("      required:\n        - id\n", "")],
        &[
            "breaking wire response-property-became-optional",
            "breaking rust rust-field-type-changed",
        ],
    );
}

#[test]
fn a_required_response_property_became_nullable() {
    case(
        &[(
            "        id:\n          type: integer\n          format: int64\n",
            "        id:\n          type: integer\n          format: int64\n          nullable: true\n",
        )],
        &[
            "breaking wire response-property-nullable",
            "breaking rust rust-field-type-changed",
        ],
    );
}

#[test]
fn nullable_on_a_field_that_is_already_optional_changes_nothing_in_rust() {
    // `label` is not required: already an Option.
    case(
        &[(
            "          description: The label\n",
            "          description: The label\n          nullable: true\n",
        )],
        &["info wire nullable-changed"],
    );
}

#[test]
fn success_response_removed() {
    case(
        &[(LIST_ITEMS, LIST_ITEMS_201)],
        &["breaking wire success-response-removed", "info wire response-added"],
    );
}

const LIST_ITEMS_201: &str = r##"  /items/list:
    get:
      operationId: list_items
      responses:
        "201":
          description: ok
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/ItemResponse"
"##;

#[test]
fn success_response_media_type_changed() {
    case(
        &[(LIST_ITEMS, LIST_ITEMS_PROBLEM_JSON)],
        // progenitor no longer decodes the answer as JSON: the generated
        // method's return type changes too.
        &[
            "breaking wire response-media-type-changed",
            "info wire response-media-type-changed",
            "breaking rust rust-method-signature-changed",
            "breaking rust facade-signature-changed",
        ],
    );
}

const LIST_ITEMS_PROBLEM_JSON: &str = r##"  /items/list:
    get:
      operationId: list_items
      responses:
        "200":
          description: ok
          content:
            application/problem+json:
              schema:
                $ref: "#/components/schemas/ItemResponse"
"##;

#[test]
fn secret_marking_removed() {
    case(
        &[(
            "        code:\n          type: string\n          format: password\n",
            "        code:\n          type: string\n",
        )],
        &[
            "breaking wire secret-marking-removed",
            "breaking rust rust-field-type-changed",
        ],
    );
}

#[test]
fn spec_removed() {
    let old = BTreeMap::from([("a".to_string(), BASE.to_string()), ("b".to_string(), BASE.to_string())]);
    let new = BTreeMap::from([("a".to_string(), BASE.to_string())]);
    let changes = compare(&old, &new, "old", "new").unwrap();
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from(["breaking wire spec-removed".to_string()])
    );
    assert_eq!(changes[0].spec, "b");
}

// --- warning -------------------------------------------------------------------

#[test]
fn request_struct_gains_an_optional_field() {
    case(
        &[(
            "        code:\n",
            "        note:\n          type: string\n        code:\n",
        )],
        // A request type of the generated client is exhaustive (callers
        // build it with a literal): semver-major there. The facade gains a
        // setter: semver-minor.
        &[
            "warning wire optional-request-property-added",
            "breaking rust rust-field-added",
            "info build length-rule-added",
            "info rust facade-method-added",
        ],
    );
}

#[test]
fn response_enum_gains_a_value() {
    case(
        &[(
            "          enum: [active, retired]\n",
            "          enum: [active, retired, draft]\n",
        )],
        // The answer enum is #[non_exhaustive]: semver-minor; but old
        // clients fail to decode the new value.
        &["warning wire response-enum-value-added", "info rust rust-variant-added"],
    );
}

#[test]
fn operation_id_renamed() {
    case(
        &[("      operationId: list_items\n", "      operationId: list_all_items\n")],
        // Nothing on the wire; code calling the old method or naming the old
        // Operation variant stops compiling: semver-major.
        &[
            "info wire operation-renamed",
            "breaking rust rust-method-renamed",
            "breaking build operation-variant-renamed",
            "breaking rust facade-method-removed",
            "info rust facade-method-added",
        ],
    );
}

#[test]
fn schema_renamed() {
    let new = BASE.replace("ItemResponse", "ItemAnswer");
    let changes = run(BASE, &new);
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from([
            "info wire schema-renamed".to_string(),
            "breaking rust rust-type-renamed".to_string(),
            "breaking rust facade-signature-changed".to_string()
        ]),
        "{changes:#?}"
    );
}

// --- info ----------------------------------------------------------------------

#[test]
fn optional_response_property_added() {
    // Wire: info. Rust: the answer struct is #[non_exhaustive], so a new
    // field is semver-minor.
    case(
        &[(
            "        tags:\n",
            "        color:\n          type: string\n        tags:\n",
        )],
        &["info wire response-property-added", "info rust rust-field-added"],
    );
}

#[test]
fn operation_added() {
    let count = LIST_ITEMS
        .replace("/items/list", "/items/count")
        .replace("list_items", "count_items");
    let both = format!("{LIST_ITEMS}{count}");
    case(
        &[(LIST_ITEMS, &both)],
        &[
            "info wire operation-added",
            "info rust rust-method-added",
            "info build operation-variant-added",
            "info rust facade-method-added",
        ],
    );
}

#[test]
fn constraints_relaxed() {
    case(
        &[
            ("          maxLength: 32\n", "          maxLength: 64\n"),
            ("            minLength: 1\n", ""),
        ],
        &["info wire constraint-relaxed", "info build length-rule-relaxed"],
    );
}

#[test]
fn request_enum_gains_a_value() {
    case(
        &[("          enum: [a, b]\n", "          enum: [a, b, c]\n")],
        // A request enum is exhaustive: semver-major for code matching on it.
        &["info wire enum-value-added", "breaking rust rust-variant-added"],
    );
}

#[test]
fn descriptions_and_examples_changed() {
    case(
        &[
            (
                "          description: The label\n",
                "          description: The item's label\n          example: blue\n",
            ),
            ("      summary: Create an item\n", "      summary: Create one item\n"),
        ],
        &["info wire docs-changed"],
    );
}

#[test]
fn spec_added() {
    let old = BTreeMap::from([("a".to_string(), BASE.to_string())]);
    let new = BTreeMap::from([("a".to_string(), BASE.to_string()), ("b".to_string(), BASE.to_string())]);
    let changes = compare(&old, &new, "old", "new").unwrap();
    assert_eq!(verdicts(&changes), BTreeSet::from(["info wire spec-added".to_string()]));
}

// --- errors and the real specs -------------------------------------------------

#[test]
fn a_spec_that_does_not_parse_names_the_file_and_the_line() {
    let broken = BASE.replace("        kind:\n", "        kind: : :\n");
    let one = |text: &str| BTreeMap::from([("corpus".to_string(), text.to_string())]);
    let err = compare(&one(BASE), &one(&broken), "at HEAD", "working tree")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("openapi/corpus.yaml (working tree): "), "{err}");
    let line = BASE.lines().position(|l| l == "        kind:").unwrap() + 1;
    assert!(err.contains(&format!("at line {line} ")), "{err}");
    assert!(err.contains("components.schemas.ItemRequest.properties.kind"), "{err}");
}

#[test]
fn the_real_wecom_change_from_the_issue() {
    let spec = include_str!("../../openapi/wecom.yaml");
    // The first match after the schema's own heading.
    let in_schema = |text: &str, schema: &str, from: &str, to: &str| {
        let start = text.find(schema).unwrap();
        format!("{}{}", &text[..start], text[start..].replacen(from, to, 1))
    };
    let changed = in_schema(
        spec,
        "    GetAuthInfoRequest:\n",
        "      required:\n        - auth_corpid\n        - permanent_code\n",
        "      required:\n        - permanent_code\n",
    );
    let changed = in_schema(
        &changed,
        "    AuthCorpInfo:\n",
        "        corp_name:\n          type: string\n          description: 授权方企业名称,即企业简称\n",
        "        corp_name:\n          type: string\n          description: 授权方企业名称,即企业简称\n        corp_alias:\n          type: string\n          description: 授权方企业简称\n",
    );
    assert_ne!(spec, changed);
    let one = |text: &str| BTreeMap::from([("wecom".to_string(), text.to_string())]);
    let changes = compare(&one(spec), &one(&changed), "old", "new").unwrap();
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from([
            "breaking rust rust-field-type-changed".to_string(),
            "info rust rust-field-added".to_string(),
            "info wire required-changed".to_string(),
            "info wire response-property-added".to_string(),
            // `auth_corpid` leaves the arguments and becomes a setter.
            "breaking rust facade-signature-changed".to_string(),
            "info rust facade-method-added".to_string(),
        ])
    );
    assert_eq!(xtask::worst(&changes), Some(Severity::Breaking));
    let field = changes.iter().find(|c| c.rule == "rust-field-type-changed").unwrap();
    assert_eq!(field.location, "types::GetAuthInfoRequest::auth_corpid");
    assert_eq!(
        field.message,
        "`GetAuthInfoRequestAuthCorpid` → `Option<GetAuthInfoRequestAuthCorpid>`"
    );
    let added = changes.iter().find(|c| c.rule == "response-property-added").unwrap();
    assert_eq!(added.pointer, "/components/schemas/AuthCorpInfo/properties/corp_alias");
}

#[test]
fn an_answer_wrapped_as_success_or_error_envelope_is_compared_by_its_success_branch() {
    let spec = include_str!("../../openapi/wecom.yaml");
    let wrapped = "              schema:\n                anyOf:\n                  - $ref: \"#/components/schemas/CorpAccessTokenAnswer\"\n                  - $ref: \"#/components/schemas/ErrcodeAnswer\"\n";
    let bare = "              schema:\n                $ref: \"#/components/schemas/CorpAccessTokenAnswer\"\n";
    assert!(spec.contains(wrapped));
    let unwrapped = spec.replacen(wrapped, bare, 1);
    let one = |text: &str| BTreeMap::from([("wecom".to_string(), text.to_string())]);
    // Describing the error answer: info, and no type change.
    let changes = compare(&one(&unwrapped), &one(spec), "old", "new").unwrap();
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from(["info wire error-answer-described".to_string()])
    );
    // Dropping it: a warning (real errors stop validating), the client is the same.
    let changes = compare(&one(spec), &one(&unwrapped), "old", "new").unwrap();
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from(["warning wire error-answer-undescribed".to_string()])
    );
}

// --- what build.rs emits besides the client -------------------------------------

#[test]
fn deleting_servers_fails_the_build_and_says_so() {
    let changes = run(BASE, &mutate(&[("servers:\n  - url: https://example.invalid\n", "")]));
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from([
            "breaking build build-fails".to_string(),
            "info wire servers-changed".to_string()
        ]),
        "{changes:#?}"
    );
    let fails = changes.iter().find(|c| c.rule == "build-fails").unwrap();
    assert!(
        fails.message.contains("the spec needs a `servers` entry"),
        "{}",
        fails.message
    );
}

#[test]
fn a_changed_server_url_changes_the_default_base_url() {
    let changes = run(
        BASE,
        &mutate(&[(
            "  - url: https://example.invalid\n",
            "  - url: https://example.invalid/v2\n",
        )]),
    );
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from([
            "warning build server-url-changed".to_string(),
            "info wire servers-changed".to_string()
        ])
    );
    let c = changes.iter().find(|c| c.rule == "server-url-changed").unwrap();
    assert!(
        c.message
            .contains("https://example.invalid → https://example.invalid/v2"),
        "{}",
        c.message
    );
}

#[test]
fn a_changed_header_default_is_what_the_client_sends() {
    let changes = run(
        BASE,
        &mutate(&[("            default: CX\n", "            default: CX/2.0\n")]),
    );
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from([
            "warning build header-default-changed".to_string(),
            "info wire default-changed".to_string()
        ])
    );
    let c = changes.iter().find(|c| c.rule == "header-default-changed").unwrap();
    assert_eq!(
        c.message,
        "the client now sends `User-Agent: CX/2.0` (was `User-Agent: CX`)"
    );
}

#[test]
fn two_defaults_for_one_header_fail_the_build() {
    // build.rs emits one constant per header: two defaults cannot both be sent.
    let header = "      parameters:\n        - name: User-Agent\n          in: header\n          schema:\n            type: string\n            default: other\n      responses:\n";
    let changes = run(
        BASE,
        &mutate(&[(
            "      operationId: list_items\n      responses:\n",
            &format!("      operationId: list_items\n{header}"),
        )]),
    );
    let fails = changes.iter().find(|c| c.rule == "build-fails").expect("build-fails");
    assert_eq!(fails.severity, Severity::Breaking);
    assert!(
        fails.message.contains("header `User-Agent` has another default"),
        "{}",
        fails.message
    );
}

#[test]
fn rules_belong_to_an_operation_and_a_removed_one_is_a_warning() {
    // The property goes, and with it its `required` entry (a required
    // property without a schema has no input for the facade to take).
    let new = mutate(&[
        (
            "      required:\n        - name\n      properties:\n",
            "      properties:\n",
        ),
        ("        name:\n          type: string\n          maxLength: 32\n", ""),
    ]);
    let removed: Vec<_> = run(BASE, &new)
        .into_iter()
        .filter(|c| c.rule == "length-rule-removed")
        .map(|c| (c.severity.as_str(), c.location))
        .collect();
    // No constant is generated for a rule, so nothing else can use it.
    assert_eq!(removed, [("warning", "`create_item` input `name`".to_string())]);
}

#[test]
fn removing_the_one_shot_mark_is_breaking() {
    case(
        &[("      x-one-shot: true\n", "")],
        &["breaking build one-shot-removed"],
    );
    let changes = run(&mutate(&[("      x-one-shot: true\n", "")]), BASE);
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from(["warning build one-shot-added".to_string()])
    );
}

#[test]
fn marking_a_write_is_a_warning_and_unmarking_it_is_breaking() {
    let write = mutate(&[(
        "      operationId: list_items\n",
        "      operationId: list_items\n      x-idempotent: false\n",
    )]);
    assert_eq!(
        verdicts(&run(BASE, &write)),
        BTreeSet::from(["warning build idempotent-removed".to_string()])
    );
    assert_eq!(
        verdicts(&run(&write, BASE)),
        BTreeSet::from(["breaking build idempotent-added".to_string()])
    );
    // A one-shot call is already never re-sent: the one-shot rule speaks.
    let marked = mutate(&[(
        "      x-one-shot: true\n",
        "      x-one-shot: true\n      x-idempotent: false\n",
    )]);
    assert!(run(BASE, &marked).is_empty());
}

// --- parameters: $ref, path level, by name ---------------------------------------

const REGION_PARAMETER: &str = "components:\n  parameters:\n    Region:\n      name: region\n      in: query\n      required: true\n      schema:\n        type: string\n        maxLength: 8\n  schemas:\n";

#[test]
fn a_required_parameter_added_through_ref_is_seen() {
    let changes = run(
        BASE,
        &mutate(&[
            (
                "      operationId: list_items\n",
                "      operationId: list_items\n      parameters:\n        - $ref: \"#/components/parameters/Region\"\n",
            ),
            ("components:\n  schemas:\n", REGION_PARAMETER),
        ]),
    );
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from([
            "breaking wire required-parameter-added".to_string(),
            "breaking rust rust-method-signature-changed".to_string(),
            "info build length-rule-added".to_string(),
            // typify's newtype for the constrained string.
            "info rust rust-type-added".to_string(),
            "breaking rust facade-signature-changed".to_string(),
        ]),
        "{changes:#?}"
    );
    let wire = changes.iter().find(|c| c.rule == "required-parameter-added").unwrap();
    assert_eq!(wire.location, "GET /items/list query parameter `region`");
    assert_eq!(wire.pointer, "/components/parameters/Region");
}

#[test]
fn a_required_parameter_added_at_the_path_level_is_seen() {
    let changes = run(
        BASE,
        &mutate(&[(
            "  /items/list:\n    get:\n",
            "  /items/list:\n    parameters:\n      - name: region\n        in: query\n        required: true\n        schema:\n          type: string\n    get:\n",
        )]),
    );
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from([
            "breaking wire required-parameter-added".to_string(),
            "breaking rust rust-method-signature-changed".to_string(),
            "info build length-rule-added".to_string(),
            "breaking rust facade-signature-changed".to_string(),
        ]),
        "{changes:#?}"
    );
    let wire = changes.iter().find(|c| c.rule == "required-parameter-added").unwrap();
    assert_eq!(wire.pointer, "/paths/~1items~1list/parameters/0");
}

#[test]
fn moving_a_secret_parameter_into_components_is_no_change() {
    // Same parameter, now a `$ref`: same wire, same client (still a Secret).
    let token = "        - name: token\n          in: query\n          required: true\n          description: The caller's token\n          schema:\n            type: string\n            format: password\n            minLength: 1\n            maxLength: 64\n";
    let component = format!(
        "components:\n  parameters:\n    Token:\n{}  schemas:\n",
        token
            .replacen("        - name", "      name", 1)
            .replace("\n          ", "\n      ")
    );
    let changes = run(
        BASE,
        &mutate(&[
            (token, "        - $ref: \"#/components/parameters/Token\"\n"),
            ("components:\n  schemas:\n", &component),
        ]),
    );
    assert!(changes.is_empty(), "{changes:#?}");
}

#[test]
fn parameters_are_matched_by_name_so_an_insertion_shifts_nothing() {
    // A new optional parameter first: the parameters after it keep their
    // descriptions; only the insertion is reported (the generated client's
    // positional method gains an argument, the facade a setter).
    let changes = run(
        BASE,
        &mutate(&[(
            "      parameters:\n        - name: token\n",
            "      parameters:\n        - name: page\n          in: query\n          description: Which page\n          schema:\n            type: integer\n        - name: token\n",
        )]),
    );
    assert_eq!(
        verdicts(&changes),
        BTreeSet::from([
            "info wire optional-parameter-added".to_string(),
            "breaking rust rust-method-signature-changed".to_string(),
            "info rust facade-method-added".to_string(),
        ]),
        "{changes:#?}"
    );
    assert_eq!(changes.len(), 3, "{changes:#?}");
}

// --- media types ---------------------------------------------------------------

#[test]
fn a_media_type_gaining_parameters_is_the_same_media_type() {
    case(
        &[(
            LIST_ITEMS,
            &LIST_ITEMS.replace("application/json:", "application/json; charset=UTF-8:"),
        )],
        &["info wire media-type-parameters-changed"],
    );
}

/// Every mapping key of `text` sorted (what YAML formatters and converters
/// do); sequences keep their order.
fn key_sorted(text: &str) -> String {
    fn sort(v: serde_yaml_ng::Value) -> serde_yaml_ng::Value {
        match v {
            serde_yaml_ng::Value::Mapping(m) => {
                let mut entries: Vec<_> = m.into_iter().collect();
                entries.sort_by_key(|(k, _)| serde_yaml_ng::to_string(k).unwrap());
                serde_yaml_ng::Value::Mapping(entries.into_iter().map(|(k, v)| (k, sort(v))).collect())
            }
            serde_yaml_ng::Value::Sequence(s) => serde_yaml_ng::Value::Sequence(s.into_iter().map(sort).collect()),
            other => other,
        }
    }
    serde_yaml_ng::to_string(&sort(serde_yaml_ng::from_str(text).unwrap())).unwrap()
}

#[test]
fn a_key_sorted_copy_of_each_shipped_spec_is_no_change() {
    for (name, text) in [
        ("wecom", include_str!("../../openapi/wecom.yaml")),
        ("chengxun", include_str!("../../openapi/chengxun.yaml")),
    ] {
        let sorted = key_sorted(text);
        assert_ne!(sorted, text);
        // The sort did reorder something that used to be API: a body's
        // properties (`get_app_qrcode`'s `suite_id` comes after its options
        // in a sorted copy).
        let one = |t: &str| BTreeMap::from([(name.to_string(), t.to_string())]);
        let changes = compare(&one(text), &one(&sorted), "old", "sorted").unwrap();
        assert!(changes.is_empty(), "{name}: {changes:#?}");
    }
}
