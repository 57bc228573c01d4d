//! Config definitions with Kafka's names, types, defaults and validation.
//!
//! - [`topic`]: topic-level configs (`retention.ms`, `cleanup.policy`, ...), their broker-level
//!   synonyms, resolution into typed values, and DescribeConfigs entries.
//! - [`broker`]: the broker's `server.properties` (plus `--override key=value`), with Kafka's
//!   defaults and Weir's embedded defaults for a start without a config file.

pub mod broker;
pub mod topic;

pub use broker::{BrokerConfig, Listener};
pub use topic::{validate_topic_config, ResolvedTopicConfig, TopicConfigView};

use std::path::PathBuf;

/// A config key or value that is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The key is not a config Weir (or Kafka) knows for this resource.
    #[error("unknown config '{key}'")]
    UnknownKey { key: String },
    /// The value does not parse as the key's type or is outside its allowed values.
    #[error("invalid value '{value}' for config '{key}': {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
    /// An operation (APPEND / SUBTRACT of IncrementalAlterConfigs) does not apply to the key.
    #[error("operation not allowed on config '{key}': {reason}")]
    OperationNotAllowed { key: String, reason: String },
    /// A `--override` argument is not `key=value`.
    #[error("invalid override '{arg}': expected key=value")]
    InvalidOverride { arg: String },
    /// The properties file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    pub(crate) fn invalid(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// A config's type, numbered as in Kafka's DescribeConfigs response (v3+ `ConfigType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i8)]
pub enum ConfigType {
    Unknown = 0,
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}

impl ConfigType {
    /// The wire value of DescribeConfigs' `config_type`.
    pub fn as_i8(self) -> i8 {
        self as i8
    }
}

/// Where a config value comes from, numbered as in Kafka's DescribeConfigs `ConfigSource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i8)]
pub enum ConfigSource {
    Unknown = 0,
    /// Set on the topic (`DYNAMIC_TOPIC_CONFIG`).
    DynamicTopic = 1,
    /// Set dynamically on this broker (`DYNAMIC_BROKER_CONFIG`).
    DynamicBroker = 2,
    /// Set dynamically as the cluster-wide broker default (`DYNAMIC_DEFAULT_BROKER_CONFIG`).
    DynamicDefaultBroker = 3,
    /// From `server.properties` or a `--override` (`STATIC_BROKER_CONFIG`).
    StaticBroker = 4,
    /// The default (`DEFAULT_CONFIG`).
    Default = 5,
}

impl ConfigSource {
    /// The wire value of DescribeConfigs' `config_source`.
    pub fn as_i8(self) -> i8 {
        self as i8
    }
}

/// One synonym of a described config: another name that would set it, with its value and
/// source, in Kafka's precedence order (highest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
}

/// One entry of a DescribeConfigs result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` when unset or sensitive.
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub sensitive: bool,
    pub synonyms: Vec<ConfigSynonym>,
    pub config_type: ConfigType,
    pub documentation: Option<String>,
}

/// The allowed values of a config beyond its type (Kafka's `ConfigDef.Validator`s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Validator {
    /// Anything of the right type.
    Any,
    /// A number `>= min`.
    AtLeast(i64),
    /// A number in `[min, max]`.
    Between(i64, i64),
    /// A floating-point number in `[min, max]`.
    DoubleBetween(f64, f64),
    /// One of these strings (case-sensitive, as Kafka's `ValidString`).
    OneOf(&'static [&'static str]),
    /// A non-empty comma-separated list whose items are all among these.
    ListOf(&'static [&'static str]),
}

/// Checks `value` against a type and validator; the error names `key`.
pub fn validate_value(
    key: &str,
    config_type: ConfigType,
    validator: Validator,
    value: &str,
) -> Result<(), ConfigError> {
    let v = value.trim();
    let number: Option<f64> = match config_type {
        ConfigType::Boolean => {
            if !(v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")) {
                return Err(ConfigError::invalid(key, value, "expected true or false"));
            }
            None
        }
        ConfigType::Short => Some(parse_int::<i16>(key, value, "a 16-bit integer")? as f64),
        ConfigType::Int => Some(parse_int::<i32>(key, value, "a 32-bit integer")? as f64),
        ConfigType::Long => {
            let n = parse_int::<i64>(key, value, "a 64-bit integer")?;
            check_integer_range(key, value, validator, n)?;
            None
        }
        ConfigType::Double => match v.parse::<f64>() {
            Ok(d) if d.is_finite() => Some(d),
            _ => return Err(ConfigError::invalid(key, value, "expected a number")),
        },
        ConfigType::List => {
            let items = parse_list(v);
            if let Validator::ListOf(allowed) = validator {
                if items.is_empty() {
                    let reason = format!("expected a list of {}", allowed.join(", "));
                    return Err(ConfigError::invalid(key, value, reason));
                }
                if let Some(bad) = items.iter().find(|i| !allowed.contains(i)) {
                    let reason = format!("'{bad}' is not one of {}", allowed.join(", "));
                    return Err(ConfigError::invalid(key, value, reason));
                }
            }
            None
        }
        ConfigType::String | ConfigType::Class | ConfigType::Password | ConfigType::Unknown => {
            if let Validator::OneOf(allowed) = validator {
                if !allowed.contains(&v) {
                    let reason = format!("expected one of {}", allowed.join(", "));
                    return Err(ConfigError::invalid(key, value, reason));
                }
            }
            None
        }
    };
    match (number, validator) {
        (Some(n), Validator::DoubleBetween(min, max)) if !(min..=max).contains(&n) => Err(
            ConfigError::invalid(key, value, format!("must be between {min} and {max}")),
        ),
        (Some(n), Validator::AtLeast(_) | Validator::Between(..)) => {
            // Short and Int values are exact in f64.
            check_integer_range(key, value, validator, n as i64)
        }
        _ => Ok(()),
    }
}

fn parse_int<T: std::str::FromStr>(key: &str, value: &str, what: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse::<T>()
        .map_err(|_| ConfigError::invalid(key, value, format!("expected {what}")))
}

fn check_integer_range(
    key: &str,
    value: &str,
    validator: Validator,
    n: i64,
) -> Result<(), ConfigError> {
    match validator {
        Validator::AtLeast(min) if n < min => Err(ConfigError::invalid(
            key,
            value,
            format!("must be at least {min}"),
        )),
        Validator::Between(min, max) if n < min || n > max => Err(ConfigError::invalid(
            key,
            value,
            format!("must be between {min} and {max}"),
        )),
        _ => Ok(()),
    }
}

/// Splits a Kafka list value (`a, b,c`) into trimmed, non-empty items.
pub fn parse_list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_types_and_ranges() {
        let ok = |t, v, s| validate_value("k", t, v, s).is_ok();
        assert!(ok(ConfigType::Boolean, Validator::Any, "TRUE"));
        assert!(!ok(ConfigType::Boolean, Validator::Any, "yes"));
        assert!(ok(ConfigType::Int, Validator::AtLeast(14), "14"));
        assert!(!ok(ConfigType::Int, Validator::AtLeast(14), "13"));
        assert!(!ok(ConfigType::Int, Validator::Any, "4294967296"));
        assert!(ok(ConfigType::Long, Validator::Any, "9223372036854775807"));
        assert!(!ok(ConfigType::Long, Validator::AtLeast(-1), "-2"));
        assert!(!ok(ConfigType::Short, Validator::Any, "40000"));
        assert!(ok(
            ConfigType::Double,
            Validator::DoubleBetween(0.0, 1.0),
            "0.5"
        ));
        assert!(!ok(
            ConfigType::Double,
            Validator::DoubleBetween(0.0, 1.0),
            "1.5"
        ));
        assert!(!ok(ConfigType::Double, Validator::Any, "NaN"));
        let policies = Validator::ListOf(&["compact", "delete"]);
        assert!(ok(ConfigType::List, policies, "compact, delete"));
        assert!(!ok(ConfigType::List, policies, "compact,remove"));
        assert!(!ok(ConfigType::List, policies, ""));
        assert!(ok(ConfigType::String, Validator::OneOf(&["A", "B"]), "B"));
        assert!(!ok(ConfigType::String, Validator::OneOf(&["A", "B"]), "b"));
    }

    #[test]
    fn error_names_key_and_reason() {
        let err = validate_value(
            "segment.bytes",
            ConfigType::Int,
            Validator::AtLeast(14),
            "1",
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("invalid value '1' for config 'segment.bytes': must be at least 14")
        );
    }

    #[test]
    fn wire_numbers_match_kafka() {
        assert_eq!(ConfigSource::DynamicTopic.as_i8(), 1);
        assert_eq!(ConfigSource::StaticBroker.as_i8(), 4);
        assert_eq!(ConfigSource::Default.as_i8(), 5);
        assert_eq!(ConfigType::Boolean.as_i8(), 1);
        assert_eq!(ConfigType::Long.as_i8(), 5);
        assert_eq!(ConfigType::Password.as_i8(), 9);
    }
}
