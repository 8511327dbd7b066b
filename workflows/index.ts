// The workflow bundle's entry point: every workflow type the worker registers.
export { invoiceWorkflow } from './invoice';
export { agreementCheckWorkflow, agreementResetWorkflow } from './agreement-jobs';
export { pastDueRemindersWorkflow } from './past-due';
export { salesPostingWorkflow } from './sales-posting';
