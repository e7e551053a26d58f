//! Identifiers for generated code (Terraform resource labels, Bicep symbols, provider aliases,
//! file names): valid in every target language, unique, and chosen the same way on every run.

/// `[a-z_][a-z0-9_]*`: lower case, anything else becomes `_`, and a leading digit gets a prefix.
/// Valid as a Terraform label and a Bicep identifier (both also allow what this leaves out).
pub fn identifier(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        if !out.is_empty() {
            out.push('_');
        }
        out.extend(part.chars().map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() { c } else { '_' }
        }));
    }
    if !out.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        out.insert_str(0, "b_");
    }
    out
}

/// One label per item, unique. Each item offers its parts from the most to the least specific
/// (`[sub, group, cluster, binding]`); a label starts from the last two parts, and every item
/// whose label another item shares is qualified with one more part, until none are shared; the
/// last resort is a numeric suffix, in item order. Items sharing a label are all qualified, not
/// just the later ones, so a label does not depend on the order a fleet was read in.
pub fn unique_labels(items: &[Vec<&str>]) -> Vec<String> {
    let mut depth: Vec<usize> = items.iter().map(|p| p.len().min(2)).collect();
    loop {
        let labels: Vec<String> = items
            .iter()
            .zip(&depth)
            .map(|(p, d)| identifier(&p[p.len() - d..]))
            .collect();
        let mut bumped = false;
        for i in 0..items.len() {
            let shared = labels
                .iter()
                .enumerate()
                .any(|(j, l)| j != i && *l == labels[i]);
            if shared && depth[i] < items[i].len() {
                depth[i] += 1;
                bumped = true;
            }
        }
        if !bumped {
            return with_suffixes(labels);
        }
    }
}

/// Duplicates left after qualifying get `_2`, `_3`, … (first one kept as is).
fn with_suffixes(labels: Vec<String>) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(labels.len());
    for label in &labels {
        let mut candidate = label.clone();
        let mut n = 2;
        while taken.contains(&candidate) || (candidate != *label && labels.contains(&candidate)) {
            candidate = format!("{label}_{n}");
            n += 1;
        }
        taken.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

/// A file name part: letters, digits, `.`, `_` and `-` kept (lower case: resource groups compare
/// ignoring case, and so do some file systems), anything else `_`.
pub fn file_part(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_valid_everywhere() {
        assert_eq!(identifier(&["My-Cluster", "ml.1"]), "my_cluster_ml_1");
        assert_eq!(identifier(&["1abc", "x"]), "b_1abc_x");
        assert_eq!(identifier(&["_a"]), "_a");
    }

    #[test]
    fn shared_labels_are_all_qualified_whatever_the_order() {
        let items = vec![
            vec!["sub1", "rg1", "c", "b"],
            vec!["sub1", "rg2", "c", "b"],
            vec!["sub1", "rg1", "c", "other"],
            vec!["sub2", "rg1", "c", "b"],
        ];
        let labels = unique_labels(&items);
        assert_eq!(
            labels,
            ["sub1_rg1_c_b", "rg2_c_b", "c_other", "sub2_rg1_c_b"]
        );
        let mut reversed = items.clone();
        reversed.reverse();
        let mut again = unique_labels(&reversed);
        again.reverse();
        assert_eq!(again, labels);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            rng_seed: proptest::test_runner::RngSeed::Fixed(25),
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]
        /// Labels are unique and valid identifiers whatever the names; when the items are told
        /// apart by their full identifiers, they do not depend on the order of the items.
        #[test]
        fn labels_are_unique_valid_and_independent_of_order(
            items in proptest::collection::vec(
                ("[ab]", "[a-zA-Z0-9_.()-]{1,3}", "[a-z0-9_-]{1,3}", "[a-zA-Z0-9-]{1,3}"),
                0..24,
            )
        ) {
            let parts: Vec<Vec<&str>> = items
                .iter()
                .map(|(s, g, c, b)| vec![s.as_str(), g.as_str(), c.as_str(), b.as_str()])
                .collect();
            let labels = unique_labels(&parts);
            let distinct: std::collections::HashSet<&String> = labels.iter().collect();
            proptest::prop_assert_eq!(distinct.len(), labels.len());
            for l in &labels {
                proptest::prop_assert!(
                    l.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                        && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{}", l
                );
            }
            let full: std::collections::HashSet<String> =
                parts.iter().map(|p| identifier(p)).collect();
            if full.len() == parts.len() {
                let mut reversed = parts.clone();
                reversed.reverse();
                let mut again = unique_labels(&reversed);
                again.reverse();
                proptest::prop_assert_eq!(again, labels);
            }
        }
    }

    #[test]
    fn what_sanitising_merges_gets_a_suffix() {
        let items = vec![vec!["c", "a-b"], vec!["c", "a_b"], vec!["c", "a_b_2"]];
        assert_eq!(unique_labels(&items), ["c_a_b", "c_a_b_3", "c_a_b_2"]);
    }
}
