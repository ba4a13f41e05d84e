//! Where a change is in the YAML: the line of every JSON pointer of a spec,
//! read from the YAML parser's own marks (yaml-rust2), and the line of a
//! change (its pointer, or for Rust and build findings the spec item they
//! come from, found by name in the spec).

use std::collections::BTreeMap;

use serde_json::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::{Change, Level};

/// JSON pointer → 1-based line: of the key for a mapping entry, of the item
/// for a sequence element, 1 for the document.
pub fn pointer_lines(text: &str) -> Result<BTreeMap<String, usize>, String> {
    let mut recorder = Recorder::default();
    Parser::new_from_str(text)
        .load(&mut recorder, false)
        .map_err(|e| e.to_string())?;
    recorder.lines.entry(String::new()).or_insert(1);
    Ok(recorder.lines)
}

enum Frame {
    /// A mapping at `ptr`, with the key whose value comes next, if any.
    Map { ptr: String, key: Option<String> },
    /// A sequence at `ptr`, with the index of the next element.
    Seq { ptr: String, index: usize },
}

#[derive(Default)]
struct Recorder {
    stack: Vec<Frame>,
    lines: BTreeMap<String, usize>,
}

impl Recorder {
    /// The pointer of the node that starts now, and whether it is a key.
    fn next_pointer(&self) -> (String, bool) {
        match self.stack.last() {
            None => (String::new(), false),
            Some(Frame::Map { key: None, .. }) => (String::new(), true),
            Some(Frame::Map { ptr, key: Some(k) }) => (format!("{ptr}/{}", escape(k)), false),
            Some(Frame::Seq { ptr, index }) => (format!("{ptr}/{index}"), false),
        }
    }

    /// A value ended: the parent moves to its next key or element.
    fn advance(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                let (ptr, is_key) = self.next_pointer();
                if is_key {
                    if let Some(Frame::Map { ptr, key }) = self.stack.last_mut() {
                        self.lines
                            .entry(format!("{ptr}/{}", escape(&value)))
                            .or_insert(mark.line());
                        *key = Some(value);
                    }
                } else {
                    self.lines.entry(ptr).or_insert(mark.line());
                    self.advance();
                }
            }
            Event::Alias(_) => {
                let (ptr, _) = self.next_pointer();
                self.lines.entry(ptr).or_insert(mark.line());
                self.advance();
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let (ptr, _) = self.next_pointer();
                self.lines.entry(ptr.clone()).or_insert(mark.line());
                self.stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map { ptr, key: None }
                } else {
                    Frame::Seq { ptr, index: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.advance();
            }
            _ => {}
        }
    }
}

/// The line of `change` in the spec `doc` (parsed) whose pointer lines are
/// `lines`: its pointer, or its nearest enclosing item that still exists (a
/// removal); for Rust and build findings, the spec item they come from.
/// `None` when nothing in the spec names it (the annotation is then on the
/// file).
pub fn line_of(change: &Change, doc: &Value, lines: &BTreeMap<String, usize>) -> Option<usize> {
    let pointer = if change.pointer.is_empty() {
        derived_pointer(change, doc)?
    } else {
        change.pointer.clone()
    };
    let mut ptr = pointer.as_str();
    loop {
        if let Some(line) = lines.get(ptr) {
            return Some(*line);
        }
        ptr = &ptr[..ptr.rfind('/')?];
    }
}

/// The spec item a Rust or build finding comes from, by name.
fn derived_pointer(change: &Change, doc: &Value) -> Option<String> {
    let location = change.location.as_str();
    match change.level {
        Level::Rust => {
            if let Some(method) = location.strip_prefix("Client::") {
                return operation_pointer(doc, method);
            }
            let path = location.strip_prefix("types::")?;
            let mut parts = path.split("::");
            let ty = parts.next()?;
            let schema = format!("/components/schemas/{}", escape(ty));
            doc.pointer(&schema)?;
            Some(match parts.next() {
                Some(field) if doc.pointer(&format!("{schema}/properties/{}", escape(field))).is_some() => {
                    format!("{schema}/properties/{}", escape(field))
                }
                _ => schema,
            })
        }
        Level::Build => {
            if let Some(id) = location.strip_prefix("Operation::") {
                return operation_pointer(doc, id);
            }
            if location.ends_with("servers[0]") {
                return Some("/servers/0/url".into());
            }
            // `header `X``, or `` `operation` input `name` `` (rules belong
            // to an operation's input).
            let name = location
                .strip_prefix("header `")
                .or_else(|| location.split_once("` input `").map(|(_, name)| name))?
                .strip_suffix('`')?;
            input_pointer(doc, name)
        }
        Level::Wire => None,
    }
}

/// `/paths/<path>/<method>` of the operation with this operationId.
fn operation_pointer(doc: &Value, operation_id: &str) -> Option<String> {
    for (path, item) in doc.get("paths")?.as_object()? {
        for (method, op) in item.as_object()? {
            if op.get("operationId").and_then(Value::as_str) == Some(operation_id) {
                return Some(format!("/paths/{}/{method}/operationId", escape(path)));
            }
        }
    }
    None
}

/// The first parameter (operation, path item or component) or request body
/// property named `name`.
fn input_pointer(doc: &Value, name: &str) -> Option<String> {
    let named = |list: Option<&Value>, base: String| -> Option<String> {
        let list = list?.as_array()?;
        let i = list
            .iter()
            .position(|p| p.get("name").and_then(Value::as_str) == Some(name))?;
        Some(format!("{base}/{i}/name"))
    };
    for (path, item) in doc.get("paths")?.as_object()? {
        let base = format!("/paths/{}", escape(path));
        if let Some(found) = named(item.get("parameters"), format!("{base}/parameters")) {
            return Some(found);
        }
        for (method, op) in item.as_object()? {
            if let Some(found) = named(op.get("parameters"), format!("{base}/{method}/parameters")) {
                return Some(found);
            }
        }
    }
    if let Some(params) = doc.pointer("/components/parameters").and_then(Value::as_object) {
        for (key, p) in params {
            if p.get("name").and_then(Value::as_str) == Some(name) {
                return Some(format!("/components/parameters/{}/name", escape(key)));
            }
        }
    }
    let schemas = doc.pointer("/components/schemas")?.as_object()?;
    schemas.keys().find_map(|key| {
        let ptr = format!("/components/schemas/{}/properties/{}", escape(key), escape(name));
        doc.pointer(&ptr).is_some().then_some(ptr)
    })
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
