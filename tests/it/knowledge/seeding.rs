//! Seeding is idempotent, an edited file changes exactly its one entry, a removed file is
//! reported and pruned on request, and a folder with an invalid file stores nothing.

use std::path::Path;

use engram::knowledge::{Category, KnowledgeError, SeedOptions, seed};
use engram::memory::{MemoryKind, RecallOptions};
use engram::store::Record;

use super::{Seeded, fresh_memory, seed_with, seeds_dir};

fn counts(memory: &engram::memory::Memory) -> Vec<usize> {
    MemoryKind::ALL
        .iter()
        .map(|kind| memory.collection(*kind).count(None).expect("count"))
        .collect()
}

fn all_records(memory: &engram::memory::Memory, kind: MemoryKind) -> Vec<Record> {
    let mut records = memory.collection(kind).scroll_all(None).expect("scroll");
    records.sort_by_key(|r| r.id);
    records
}

/// A copy of `seeds/` to edit.
fn copy_seeds(to: &Path) {
    let from = seeds_dir();
    for entry in walk(&from) {
        let target = to.join(entry.strip_prefix(&from).expect("inside"));
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&entry, &target).expect("copy");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn seeding_twice_stores_nothing_new() {
    let seeded = Seeded::new();
    let report = &seeded.report;
    let files = |c: Category| report.categories[&c].files;
    assert!(files(Category::DesignPattern) >= 20);
    assert!(files(Category::BestPractice) >= 20);
    assert!(files(Category::CommonError) >= 40);
    assert_eq!(
        report.stored(),
        files(Category::DesignPattern)
            + files(Category::BestPractice)
            + files(Category::CommonError)
    );
    let before = counts(&seeded.memory);
    assert_eq!(before[0], files(Category::DesignPattern));
    assert_eq!(before[1], files(Category::BestPractice));
    assert_eq!(before[2], files(Category::CommonError));

    let again = seed_with(&seeded.memory, &seeds_dir(), SeedOptions::default());
    assert_eq!(again.stored(), 0, "{again:?}");
    for counts in again.categories.values() {
        assert_eq!(counts.unchanged, counts.files);
    }
    assert!(again.removed.is_empty());
    assert_eq!(counts(&seeded.memory), before);
}

#[test]
fn editing_one_file_changes_exactly_one_entry_and_removed_files_are_pruned_on_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seeds = dir.path().join("seeds");
    copy_seeds(&seeds);
    let memory = fresh_memory(dir.path());
    seed_with(&memory, &seeds, SeedOptions::default());
    let before: Vec<Vec<Record>> = MemoryKind::ALL
        .iter()
        .map(|k| all_records(&memory, *k))
        .collect();

    let edited = seeds.join("practices/network-call-timeouts.md");
    let text = std::fs::read_to_string(&edited).expect("read");
    let text = text.replacen(
        "Give every outbound request an explicit deadline",
        "Give every outbound request, including retries, an explicit deadline",
        1,
    );
    std::fs::write(&edited, text).expect("write");
    let report = seed_with(&memory, &seeds, SeedOptions::default());
    assert_eq!(report.stored(), 1);
    assert_eq!(report.categories[&Category::BestPractice].updated, 1);

    let after: Vec<Vec<Record>> = MemoryKind::ALL
        .iter()
        .map(|k| all_records(&memory, *k))
        .collect();
    let mut changed = Vec::new();
    for (old, new) in before.iter().flatten().zip(after.iter().flatten()) {
        assert_eq!(old.id, new.id, "no entry added or lost");
        if old.payload != new.payload {
            changed.push(new.clone());
        }
    }
    assert_eq!(
        before.iter().flatten().count(),
        after.iter().flatten().count()
    );
    assert_eq!(changed.len(), 1, "exactly one entry changed");
    let context = changed[0].payload["context"].as_str().expect("summary");
    assert!(context.contains("including retries"), "{context}");
    let found = memory
        .recall_solutions(
            "deadline for outbound requests including retries",
            &RecallOptions::top(1),
        )
        .expect("recall");
    assert!(found[0].record.context.contains("including retries"));

    // A file that changes category moves its entry from one collection to the other.
    let moving = seeds.join("errors/python-key-error.md");
    let text = std::fs::read_to_string(&moving).expect("read");
    let text: String = text
        .lines()
        .filter(|line| !line.starts_with("error ="))
        .map(|line| {
            if line.starts_with("category =") {
                "category = \"best_practice\"\n".to_owned()
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&moving, text).expect("write");
    let before_move: Vec<usize> = MemoryKind::ALL
        .iter()
        .map(|k| memory.collection(*k).count(None).expect("count"))
        .collect();
    let report = seed_with(&memory, &seeds, SeedOptions::default());
    assert_eq!(report.categories[&Category::BestPractice].updated, 1);
    assert!(report.removed.is_empty());
    let after_move: Vec<usize> = MemoryKind::ALL
        .iter()
        .map(|k| memory.collection(*k).count(None).expect("count"))
        .collect();
    assert_eq!(after_move[1], before_move[1] + 1, "one more best practice");
    assert_eq!(after_move[2], before_move[2] - 1, "one common error fewer");

    // Remove a file: reported, kept, then deleted with prune.
    std::fs::remove_file(seeds.join("patterns/singleton.md")).expect("remove");
    let report = seed_with(&memory, &seeds, SeedOptions::default());
    assert_eq!(report.removed.len(), 1);
    assert_eq!(report.removed[0].path, "patterns/singleton.md");
    assert!(!report.removed[0].deleted);
    let patterns = memory
        .collection(MemoryKind::CodePattern)
        .count(None)
        .expect("count");
    let report = seed_with(
        &memory,
        &seeds,
        SeedOptions {
            prune: true,
            dry_run: false,
        },
    );
    assert!(report.removed[0].deleted);
    assert_eq!(
        memory
            .collection(MemoryKind::CodePattern)
            .count(None)
            .expect("count"),
        patterns - 1
    );
    let report = seed_with(&memory, &seeds, SeedOptions::default());
    assert!(report.removed.is_empty());
}

#[test]
fn a_folder_with_an_invalid_file_stores_nothing_and_a_dry_run_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seeds = dir.path().join("seeds");
    copy_seeds(&seeds);
    std::fs::write(
        seeds.join("errors/broken.md"),
        "+++\ntitle = \"x\"\ncategory = \"common_error\"\nlanguages = [\"cobol\"]\nsummary = \"s\"\nerror = \"E\"\n+++\n## Cause\nc\n## Resolution\nr\n",
    )
    .expect("write");
    let memory = fresh_memory(dir.path());
    let error = seed(&memory, &seeds, SeedOptions::default(), &mut |_, _| {}).expect_err("invalid");
    match &error {
        KnowledgeError::Invalid(problems) => {
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].file, "errors/broken.md");
            assert_eq!(problems[0].line, 4);
            assert!(problems[0].message.contains("unknown language \"cobol\""));
        }
        other => panic!("{other}"),
    }
    assert!(error.to_string().contains("errors/broken.md:4:"), "{error}");
    assert_eq!(counts(&memory), vec![0, 0, 0, 0]);

    std::fs::remove_file(seeds.join("errors/broken.md")).expect("remove");
    let report = seed_with(
        &memory,
        &seeds,
        SeedOptions {
            dry_run: true,
            prune: false,
        },
    );
    assert!(
        report.stored() >= 80,
        "a dry run reports what it would store"
    );
    assert_eq!(counts(&memory), vec![0, 0, 0, 0]);
}
