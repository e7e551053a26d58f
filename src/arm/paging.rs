//! ARM list pages: `{"value":[…],"nextLink":…}`. The loop that follows `nextLink` lives in the
//! client; this is the page parser it uses, kept pure so it is unit-tested.

use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(default)]
    pub next_link: Option<String>,
}

/// Parses one page. An empty or null `nextLink` ends the listing; an empty `value` does not.
pub fn parse_page<T: DeserializeOwned>(body: &[u8]) -> Result<Page<T>, String> {
    let mut page: Page<T> =
        serde_json::from_slice(body).map_err(|e| format!("not a list page: {e}"))?;
    if page
        .next_link
        .as_deref()
        .is_some_and(|l| l.trim().is_empty())
    {
        page.next_link = None;
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn pages_end_when_next_link_is_absent_null_or_empty() {
        let p: Page<Value> = parse_page(br#"{"value":[1,2]}"#).unwrap();
        assert_eq!((p.value.len(), p.next_link), (2, None));
        let p: Page<Value> = parse_page(br#"{"value":[],"nextLink":null}"#).unwrap();
        assert_eq!(p.next_link, None);
        let p: Page<Value> = parse_page(br#"{"value":[],"nextLink":""}"#).unwrap();
        assert_eq!(p.next_link, None);
    }

    #[test]
    fn an_empty_page_can_still_continue() {
        let p: Page<Value> =
            parse_page(br#"{"value":[],"nextLink":"https://h/x?$skiptoken=1"}"#).unwrap();
        assert!(p.value.is_empty());
        assert_eq!(p.next_link.as_deref(), Some("https://h/x?$skiptoken=1"));
    }

    #[test]
    fn a_missing_value_is_an_empty_page_and_garbage_is_an_error() {
        let p: Page<Value> = parse_page(b"{}").unwrap();
        assert!(p.value.is_empty());
        assert!(parse_page::<Value>(b"<html>").is_err());
        assert!(parse_page::<Value>(br#"{"value":{}}"#).is_err());
    }
}
