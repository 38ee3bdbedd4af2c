// Workflows for scenarios.js, bundled by Temporal's worker (its deterministic sandbox).
const { proxyActivities, sleep, defineSignal, defineQuery, setHandler, condition } = require('@temporalio/workflow');

const { sendEmail } = proxyActivities({ startToCloseTimeout: '10 seconds' });

// The Quick Start: one activity, one timer.
async function orderWorkflow(user) {
  const sent = await sendEmail(user);
  await sleep(50);
  return `workflow_completed_${sent}`;
}

const approve = defineSignal('approve');
const status = defineQuery('status');

// Waits for `approve`; `status` says what it waits for.
async function approvalWorkflow(order) {
  let approvedBy = null;
  setHandler(approve, (by) => {
    approvedBy = by;
  });
  setHandler(status, () => (approvedBy === null ? 'waiting for approval' : `approved by ${approvedBy}`));
  await condition(() => approvedBy !== null);
  return `${order} approved by ${approvedBy}`;
}

module.exports = { orderWorkflow, approvalWorkflow };
