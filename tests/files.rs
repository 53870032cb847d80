//! Generated files against the real engine: uploaded before a container starts, updated in
//! place with a reload (not a replacement), and put back when the reload fails. The
//! gateway's provider here is a plain file; the nginx renderer plugs into the same seam.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use stackwright::apply::{self, Context, NoProgress, Outcome, Secrets};
use stackwright::desired::{self, ConfigFiles, FileSet, Inputs};
use stackwright::engine::{Engine, observe};
use stackwright::plan::{self, Options, Plan};
use stackwright::spec::Stack;
use support::stack::{TestStack, docker};

const CONF: &str = "/etc/swtc/app.conf";

/// A provider of one file with the given contents and reload command.
fn provider(contents: &'static str, reload: &'static str) -> impl ConfigFiles {
    move |_: &Stack| {
        Ok(FileSet {
            files: BTreeMap::from([(CONF.to_string(), contents.as_bytes().to_vec())]),
            reload: vec!["sh".into(), "-c".into(), reload.into()],
        })
    }
}

async fn plan_and_apply(stack: &Stack, files: &dyn ConfigFiles) -> (Plan, Outcome) {
    let engine = Engine::connect().await.expect("the engine answers");
    let observed = observe(&engine, &stack.name).await.expect("observe works");
    let inputs = Inputs {
        images: &observed.images,
        build_digests: &BTreeMap::new(),
        gateway_files: files,
    };
    let desired = desired::build(stack, &inputs).expect("the stack is valid");
    let plan = plan::reconcile(&desired, &observed, &Options::default()).expect("a plan");
    let context = Context {
        engine,
        secrets: Secrets::default(),
        progress: Arc::new(NoProgress),
        parallelism: 4,
        gateway: None,
    };
    let outcome = apply::execute(&plan, context).await;
    (plan, outcome)
}

fn read(container: &str, path: &str) -> String {
    docker(&["exec", container, "cat", path])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_files_are_uploaded_then_updated_in_place_and_put_back_on_a_failed_reload() {
    support::images::ensure(&["testhttp"]);
    let test = TestStack::new("swtc-files");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let yaml = format!(
        r#"
version: 1
name: swtc-files
services:
  api: {{ image: stackwright/testhttp, port: 8080 }}
gateway:
  image: stackwright/testhttp
  listen: "127.0.0.1:{port}"
  routes: {{ /: api }}
"#
    );
    let stack: Stack = serde_saphyr::from_str(&yaml).unwrap();
    let gateway = "swtc-files-gateway";
    let copy = "cat /etc/swtc/app.conf > /tmp/loaded";

    let (_, outcome) = plan_and_apply(&stack, &provider("v1\n", copy)).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(read(gateway, CONF), "v1\n");
    let created = test
        .service_containers()
        .into_iter()
        .find(|c| c.name == gateway)
        .unwrap();

    let (plan, outcome) = plan_and_apply(&stack, &provider("v2\n", copy)).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let text = plan::render(&plan);
    assert!(
        text.contains(
            "    ~ container swtc-files-gateway\n        file /etc/swtc/app.conf: changed\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.\n"));
    assert_eq!(read(gateway, CONF), "v2\n");
    assert_eq!(
        read(gateway, "/tmp/loaded"),
        "v2\n",
        "the reload command did not run"
    );
    let updated = test
        .service_containers()
        .into_iter()
        .find(|c| c.name == gateway)
        .unwrap();
    assert_eq!(updated.id, created.id, "the gateway was recreated");
    let (plan, _) = plan_and_apply(&stack, &provider("v2\n", copy)).await;
    assert!(plan.is_empty(), "{}", plan::render(&plan));

    let refuse = "grep -q good /etc/swtc/app.conf";
    let (_, outcome) = plan_and_apply(&stack, &provider("bad\n", refuse)).await;
    assert_eq!(outcome.failures.len(), 1, "{outcome:?}");
    assert!(
        outcome.failures[0].starts_with(
            "service `gateway`: reloading `swtc-files-gateway` failed with status 1; \
             its previous files were put back"
        ),
        "{outcome:?}"
    );
    assert_eq!(read(gateway, CONF), "v2\n", "the bad file stayed");
}
