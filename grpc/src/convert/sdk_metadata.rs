//! The SDK's name, version and flags on a completed workflow task, Endure's and
//! Temporal's: Temporal's SDKs keep two flag lists, Endure's history one.

use endure_core::history::SdkMetadata;

use crate::proto::sdk;

/// Temporal's SDKs keep two flag lists (core's and the language's); Endure's history keeps
/// one. A language flag is kept with this bit set, so both lists come back apart.
pub(crate) const LANG_FLAG_BIT: u32 = 1 << 31;

/// The SDK's metadata as Temporal's, the flag lists split again.
pub(crate) fn sdk_metadata(metadata: SdkMetadata) -> Option<sdk::WorkflowTaskCompletedMetadata> {
    let (lang, core): (Vec<u32>, Vec<u32>) = metadata
        .flags
        .into_iter()
        .partition(|flag| flag & LANG_FLAG_BIT != 0);
    Some(sdk::WorkflowTaskCompletedMetadata {
        core_used_flags: core,
        lang_used_flags: lang.into_iter().map(|f| f & !LANG_FLAG_BIT).collect(),
        sdk_name: metadata.sdk_name,
        sdk_version: metadata.sdk_version,
    })
}

/// Temporal's SDK metadata as Endure's (see [`LANG_FLAG_BIT`]).
pub(crate) fn sdk_metadata_in(metadata: Option<sdk::WorkflowTaskCompletedMetadata>) -> SdkMetadata {
    let metadata = metadata.unwrap_or_default();
    let mut flags = metadata.core_used_flags;
    flags.extend(
        metadata
            .lang_used_flags
            .into_iter()
            .map(|f| f | LANG_FLAG_BIT),
    );
    SdkMetadata {
        flags,
        sdk_name: metadata.sdk_name,
        sdk_version: metadata.sdk_version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_flags_come_back_apart_from_cores() {
        let metadata = sdk::WorkflowTaskCompletedMetadata {
            core_used_flags: vec![1, 2],
            lang_used_flags: vec![1],
            sdk_name: "temporal-python".into(),
            sdk_version: "1.0".into(),
        };
        assert_eq!(
            sdk_metadata(sdk_metadata_in(Some(metadata.clone()))),
            Some(metadata)
        );
    }
}
