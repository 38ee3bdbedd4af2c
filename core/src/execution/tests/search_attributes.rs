//! Search attribute upserts: each key replaces the run's, and an unset value or an empty
//! keyword list removes the key (Temporal's merge), live and when the state is rebuilt from
//! history.

use super::harness::*;
use crate::command::{Command, UpsertWorkflowSearchAttributesCommandAttributes};
use crate::execution::*;
use crate::history::EventAttributes;
use crate::search_attributes::{SearchAttributeValue, SearchAttributes};

fn upsert(attributes: SearchAttributes) -> Command {
    Command::UpsertWorkflowSearchAttributes(UpsertWorkflowSearchAttributesCommandAttributes {
        search_attributes: attributes,
    })
}

#[test]
fn an_unset_value_or_an_empty_list_removes_the_key() {
    let mut options = options();
    options
        .search_attributes
        .insert("Tier", SearchAttributeValue::Keyword("gold".into()));
    options.search_attributes.unset("NeverThere");
    let (mut run, _) = Run::start(options);
    assert_eq!(
        run.machine.search_attributes().0.keys().collect::<Vec<_>>(),
        ["Tier"],
        "a start keeps no removal"
    );
    let mut tags = SearchAttributes::new();
    tags.insert(
        "Tags",
        SearchAttributeValue::KeywordList(vec!["vip".into(), "eu".into()]),
    );
    check(
        &run.run_task(vec![upsert(tags)]).events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 UpsertWorkflowSearchAttributes wtc=4",
    );
    let mut removal = SearchAttributes::new();
    removal.insert("Tags", SearchAttributeValue::KeywordList(Vec::new()));
    removal.unset("Tier");
    run.apply(Input::Signal(signal("go", None)));
    let effects = run.run_task(vec![upsert(removal.clone())]);
    check(
        &effects.events,
        "9 WorkflowTaskCompleted scheduled=7 started=8
         10 UpsertWorkflowSearchAttributes wtc=9",
    );
    // History records the upsert as sent; the run holds neither key any more.
    let EventAttributes::UpsertWorkflowSearchAttributes(recorded) = &effects.events[1].attributes
    else {
        panic!("{:?}", effects.events[1]);
    };
    assert_eq!(recorded.search_attributes, removal);
    assert!(run.machine.search_attributes().is_empty());
    // Rebuilt from history (what a reset starts from), the keys are gone too.
    run.apply(Input::Signal(signal("again", None)));
    run.start_task();
    let rebuilt = ExecutionMachine::rebuild(&run.machine, &run.history, run.machine.run_id)
        .expect("a live history rebuilds");
    assert!(rebuilt.search_attributes().is_empty());
}
