//! Input rules, taken from the specs by build.rs (`minLength`/`maxLength`).

use crate::Error;

/// The length rule of one string input, as the spec states it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// The parameter's name on the wire.
    pub name: &'static str,
    /// `minLength` (0 when absent).
    pub min_chars: u64,
    /// `maxLength`.
    pub max_chars: Option<u64>,
}

impl Rule {
    /// Checks `value` against the rule. The error names the parameter and the
    /// rule, never the value.
    pub(crate) fn check(&self, value: &str) -> Result<(), Error> {
        // Cheap bounds first: a byte length within the limits settles most
        // inputs without counting characters (chars <= bytes <= 4 * chars).
        let bytes = value.len() as u64;
        let fits_max = |chars: u64| self.max_chars.is_none_or(|max| chars <= max);
        if bytes >= self.min_chars && fits_max(bytes) {
            return Ok(());
        }
        let chars = value.chars().count() as u64;
        if chars == 0 && self.min_chars > 0 {
            return Err(self.invalid("must not be empty".to_string()));
        }
        if chars < self.min_chars {
            return Err(self.invalid(format!("must be at least {} characters, got {chars}", self.min_chars)));
        }
        if let Some(max) = self.max_chars.filter(|&max| chars > max) {
            return Err(self.invalid(format!("must be at most {max} characters, got {chars}")));
        }
        Ok(())
    }

    fn invalid(&self, rule: String) -> Error {
        Error::InvalidInput {
            parameter: self.name,
            rule,
        }
    }
}

/// The item-count rule of one array input (`minItems`/`maxItems`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Count {
    /// The parameter's name on the wire.
    pub name: &'static str,
    /// `minItems` (0 when absent).
    pub min_items: u64,
    /// `maxItems`.
    pub max_items: Option<u64>,
}

impl Count {
    /// Checks an array of `len` items against the rule.
    pub(crate) fn check(&self, len: usize) -> Result<(), Error> {
        let len = len as u64;
        let rule = if len < self.min_items {
            format!("must have at least {} items, got {len}", self.min_items)
        } else if let Some(max) = self.max_items.filter(|&max| len > max) {
            format!("must have at most {max} items, got {len}")
        } else {
            return Ok(());
        };
        Err(Error::InvalidInput {
            parameter: self.name,
            rule,
        })
    }
}
