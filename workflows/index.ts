// The workflow bundle's entry point: every workflow type the worker registers.
export { invoiceWorkflow } from './invoice';
export { agreementCheckWorkflow, agreementResetWorkflow } from './agreement-jobs';
export { salesPostingWorkflow } from './sales-posting';
