//! The embedder against sentence-transformers' own outputs
//! (`../shared/fixtures/minilm-reference.jsonl`), on every precision path this CPU runs:
//! the portable f32 path (forced by its setting) at cosine ≥ 0.9999, bf16 where the CPU
//! has AVX-512 BF16 and int8 where it has AVX2, each at ≥ 0.999.

use std::sync::OnceLock;

use engram::embed::{
    ALL_MINILM_L6_V2, Embedder, EmbedderOptions, Kernel, ModelSources, Precision, Provisioner,
    SentenceEmbedder, cosine,
};
use serde::Deserialize;

use crate::common::{default_sources, embedder, installed_model_dir, shared_dir};

/// The embedder of each precision path available here, with the cosine it must reach.
fn paths() -> &'static [(SentenceEmbedder, f32)] {
    static PATHS: OnceLock<Vec<(SentenceEmbedder, f32)>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let mut paths = Vec::new();
        for (precision, threshold) in [
            (Precision::F32, 0.9999),
            (Precision::Bf16, 0.999),
            (Precision::Int8, 0.999),
        ] {
            if precision == Precision::Bf16 && !Kernel::bf16_available() {
                eprintln!("no AVX-512 BF16 on this CPU: the bf16 path is not tested here");
                continue;
            }
            if precision == Precision::Int8 && !Kernel::Int8Avx2.available() {
                eprintln!("no AVX2 and FMA on this CPU: the int8 path is not tested here");
                continue;
            }
            let sources = ModelSources {
                explicit_dir: Some(installed_model_dir().to_path_buf()),
                ..default_sources()
            };
            let files = Provisioner::new(ALL_MINILM_L6_V2, sources)
                .load()
                .expect("the model loads");
            let options = EmbedderOptions::new().with_precision(precision);
            let model = SentenceEmbedder::load(ALL_MINILM_L6_V2.name, files, &options)
                .expect("the embedder builds");
            assert_eq!(model.kernel().precision(), precision);
            paths.push((model, threshold));
        }
        paths
    })
}

#[derive(Deserialize)]
struct Reference {
    text: String,
    tokens: usize,
    embedding: Vec<f32>,
}

fn references() -> Vec<Reference> {
    let path = shared_dir().join("fixtures/minilm-reference.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let references: Vec<Reference> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("reference line"))
        .collect();
    assert_eq!(references.len(), 40, "the fixture has 40 texts");
    references
}

#[test]
fn every_reference_text_matches_sentence_transformers_on_every_path() {
    let references = references();
    let texts: Vec<&str> = references.iter().map(|r| r.text.as_str()).collect();
    assert!(!paths().is_empty());
    for (model, threshold) in paths() {
        let vectors = model.embed_batch(&texts).expect("embed");
        let tokens = model.tokenize(&texts).expect("tokenize");
        let mut worst = (f32::MAX, "");
        for ((reference, vector), ids) in references.iter().zip(&vectors).zip(&tokens) {
            assert_eq!(
                ids.len(),
                reference.tokens,
                "token count of {:?}",
                reference.text
            );
            let similarity = cosine(vector, &reference.embedding);
            assert!(
                similarity >= *threshold,
                "{}: cosine {similarity} < {threshold} for {:?}",
                model.kernel().name(),
                reference.text
            );
            if similarity < worst.0 {
                worst = (similarity, &reference.text);
            }
        }
        eprintln!(
            "{}: lowest cosine with the reference {:.6} ({:?})",
            model.kernel().name(),
            worst.0,
            worst.1
        );
    }
}

#[test]
fn the_default_path_is_the_fastest_this_cpu_runs() {
    let expected =
        if Kernel::bf16_available() && std::env::var_os("ENGRAM_EMBED_PRECISION").is_none() {
            Kernel::Bf16Avx512
        } else {
            embedder().kernel()
        };
    assert_eq!(embedder().kernel(), expected);
}

#[test]
fn long_texts_are_truncated_where_the_reference_truncates() {
    let references = references();
    let long: Vec<&Reference> = references.iter().filter(|r| r.tokens == 256).collect();
    assert!(long.len() >= 3, "the fixture has texts past the limit");
    for reference in long {
        let ids = &embedder().tokenize(&[&reference.text]).expect("tokenize")[0];
        assert_eq!(ids.len(), 256);
        assert_eq!(
            ids.last(),
            Some(&102),
            "truncated sequences still end with [SEP]"
        );
        for (model, threshold) in paths() {
            let vector = model.embed(&reference.text).expect("embed");
            assert!(cosine(&vector, &reference.embedding) >= *threshold);
        }
    }
}

#[test]
fn the_empty_string_is_embedded_like_the_reference_does() {
    let reference = references()
        .into_iter()
        .find(|r| r.text.is_empty())
        .expect("the fixture has the empty string");
    assert_eq!(reference.tokens, 2, "[CLS] [SEP]");
    let ids = &embedder().tokenize(&[""]).expect("tokenize")[0];
    assert_eq!(ids, &vec![101, 102]);
    for (model, threshold) in paths() {
        let vector = model.embed("").expect("embed");
        let similarity = cosine(&vector, &reference.embedding);
        assert!(similarity >= *threshold, "cosine {similarity}");
    }
}

#[test]
fn batch_and_single_embeddings_agree_with_unit_norm_and_384_dimensions() {
    let references = references();
    let texts: Vec<&str> = references.iter().map(|r| r.text.as_str()).collect();
    for (model, _) in paths() {
        batch_and_single_agree(model, &texts);
    }
}

fn batch_and_single_agree(model: &SentenceEmbedder, texts: &[&str]) {
    assert_eq!(model.dimension(), 384);
    let batch = model.embed_batch(texts).expect("embed batch");
    assert_eq!(batch.len(), texts.len());
    for (text, from_batch) in texts.iter().zip(&batch) {
        let single = model.embed(text).expect("embed one");
        assert_eq!(single.len(), 384);
        assert_eq!(from_batch.len(), 384);
        let norm = single.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() <= 1e-5, "norm {norm} of {text:?}");
        for (i, (a, b)) in single.iter().zip(from_batch).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5,
                "component {i} of {text:?}: single {a} vs batch {b}"
            );
        }
    }
}

#[test]
fn batch_output_keeps_input_order() {
    let model = embedder();
    let texts = [
        "a much longer text about database connection pooling",
        "a",
        "mid length text",
    ];
    let forward = model.embed_batch(&texts).expect("embed");
    let reversed: Vec<&str> = texts.iter().rev().copied().collect();
    let backward = model.embed_batch(&reversed).expect("embed");
    for (i, vector) in forward.iter().enumerate() {
        let other = &backward[texts.len() - 1 - i];
        assert!(cosine(vector, other) > 0.99999, "text {i} moved");
    }
    assert!(model.embed_batch(&[]).expect("empty batch").is_empty());
}
