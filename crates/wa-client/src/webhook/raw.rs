//! Internal helpers for lossless, field-by-field (de)serialisation of JSON objects.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A JSON object.
pub(crate) type Object = Map<String, Value>;

/// Parses `value` as `T` only if serialising the result gives `value` back exactly.
pub(crate) fn lossless<T: DeserializeOwned + Serialize>(value: &Value) -> Option<T> {
    let typed = T::deserialize(value).ok()?;
    (serde_json::to_value(&typed).ok()? == *value).then_some(typed)
}

/// Takes typed fields out of a JSON object; whatever is not taken stays in the object (the `extra` of the model).
pub(crate) struct Reader {
    map: Object,
}

impl Reader {
    pub(crate) fn new(map: Object) -> Self {
        Self { map }
    }

    /// Takes `key` if it is a string.
    pub(crate) fn string(&mut self, key: &str) -> Option<String> {
        match self.map.get(key) {
            Some(Value::String(_)) => match self.map.remove(key) {
                Some(Value::String(s)) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    /// Takes `key` if it is a string, or fails with `what`.
    pub(crate) fn required_string(&mut self, key: &str, what: &str) -> Result<String, String> {
        self.string(key)
            .ok_or_else(|| format!("{what}: `{key}` is missing or not a string"))
    }

    /// Takes `key` if it parses losslessly as `T`.
    pub(crate) fn typed<T: DeserializeOwned + Serialize>(&mut self, key: &str) -> Option<T> {
        let typed = lossless(self.map.get(key)?)?;
        self.map.remove(key);
        Some(typed)
    }

    /// Takes `key` if it is a non-empty array whose items all parse losslessly as `T`; an empty or unparseable
    /// array stays in the object.
    pub(crate) fn list<T: DeserializeOwned + Serialize>(&mut self, key: &str) -> Vec<T> {
        match self.map.get(key) {
            Some(Value::Array(items)) if !items.is_empty() => {
                match lossless::<Vec<T>>(&Value::Array(items.clone())) {
                    Some(typed) => {
                        self.map.remove(key);
                        typed
                    }
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    /// Takes `key` when it is a non-empty array, parsing every item with `parse`; any failure is an error.
    /// An absent key or an empty array gives an empty list (an empty array stays in the object).
    pub(crate) fn strict_list<T>(
        &mut self,
        key: &str,
        mut parse: impl FnMut(Value) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        match self.map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) if items.is_empty() => Ok(Vec::new()),
            Some(Value::Array(_)) => match self.map.remove(key) {
                Some(Value::Array(items)) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| parse(item).map_err(|e| format!("{key}[{i}]: {e}")))
                    .collect(),
                _ => Ok(Vec::new()),
            },
            Some(_) => Err(format!("`{key}` is not an array")),
        }
    }

    /// Removes and returns `key` whatever it holds.
    pub(crate) fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    /// What was not taken.
    pub(crate) fn rest(self) -> Object {
        self.map
    }
}

/// Builds a JSON object from typed fields and the `extra` that was kept.
#[derive(Default)]
pub(crate) struct Writer {
    map: Object,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.map
            .insert(key.to_owned(), Value::String(value.to_owned()));
        self
    }

    pub(crate) fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.str(key, v);
        }
        self
    }

    pub(crate) fn value<S: Serialize>(&mut self, key: &str, value: &S) -> &mut Self {
        // Serialising our own model types into `Value` cannot fail (string keys, no non-finite floats).
        if let Ok(v) = serde_json::to_value(value) {
            self.map.insert(key.to_owned(), v);
        }
        self
    }

    pub(crate) fn opt<S: Serialize>(&mut self, key: &str, value: Option<&S>) -> &mut Self {
        if let Some(v) = value {
            self.value(key, v);
        }
        self
    }

    pub(crate) fn list<S: Serialize>(&mut self, key: &str, items: &[S]) -> &mut Self {
        if !items.is_empty() {
            self.value(key, &items);
        }
        self
    }

    pub(crate) fn raw(&mut self, key: &str, value: Value) -> &mut Self {
        self.map.insert(key.to_owned(), value);
        self
    }

    pub(crate) fn extra(&mut self, extra: &Object) -> &mut Self {
        for (k, v) in extra {
            self.map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self
    }

    pub(crate) fn finish(&mut self) -> Object {
        std::mem::take(&mut self.map)
    }
}

/// `serde(with = "double_option")` for fields where an explicit `null` must survive a round trip:
/// absent = `None`, `null` = `Some(None)`.
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }

    #[allow(clippy::ref_option)] // serde's `with` hands us `&Option<Option<T>>`
    pub(crate) fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// Implements `Serialize`/`Deserialize` for a type through `to_object`/`from_object`.
macro_rules! object_serde {
    ($ty:ty, $what:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.to_object().serialize(serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = serde_json::Value::deserialize(deserializer)?;
                <$ty>::from_value(value).map_err(serde::de::Error::custom)
            }
        }

        impl $ty {
            /// Parses this item from a JSON value (see the type docs for what makes it fail).
            pub fn from_value(value: serde_json::Value) -> Result<Self, String> {
                match value {
                    serde_json::Value::Object(map) => Self::from_object(map),
                    other => Err(format!(
                        "{} is not a JSON object: {}",
                        $what,
                        crate::webhook::raw::kind(&other)
                    )),
                }
            }

            /// Serialises back to the JSON object this was parsed from (plus any edits made to the fields).
            pub fn to_value(&self) -> serde_json::Value {
                serde_json::Value::Object(self.to_object())
            }
        }
    };
}
pub(crate) use object_serde;

/// A short name for the JSON type of `value`, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
