// Temporal's TypeScript SDK against Endure's gRPC front end: one scenario per run.
//
//   node scenarios.js <quickstart|approval> <host:port>
//
// Prints one JSON object (what the client saw) on its last line and exits 0. The Rust test
// (grpc/tests/it/typescript_sdk.rs) then asserts the histories Endure wrote, event by event.
const path = require('path');
const { Connection, Client } = require('@temporalio/client');
const { NativeConnection, Worker, Runtime, DefaultLogger } = require('@temporalio/worker');

const QUEUE = 'typescript-sdk';

const activities = {
  async sendEmail(user) {
    return `sent to ${user}`;
  },
};

async function quickstart(client) {
  const result = await client.workflow.execute('orderWorkflow', {
    args: ['user_ts'],
    taskQueue: QUEUE,
    workflowId: 'ts-order',
  });
  return { result };
}

async function approval(client) {
  const handle = await client.workflow.start('approvalWorkflow', {
    args: ['order-ts'],
    taskQueue: QUEUE,
    workflowId: 'ts-approval',
  });
  // A query needs the run's first workflow task done; wait for it as users do.
  let before;
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      before = await handle.query('status');
      break;
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  await handle.signal('approve', 'dave');
  const result = await handle.result();
  const after = await handle.query('status');
  return { before, result, after };
}

const SCENARIOS = { quickstart, approval };

async function main() {
  const [scenario, address] = process.argv.slice(2);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    taskQueue: QUEUE,
    workflowsPath: path.join(__dirname, 'workflows.js'),
    activities,
  });
  const seen = await worker.runUntil(SCENARIOS[scenario](client));
  await connection.close();
  console.log(JSON.stringify(seen));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
