// Package miit is the ICP filing domain: the provider's filing orders and
// MIIT's text-message validation of them — who must validate, the sync of an
// order to MIIT, the six-digit codes from 12381, validation and resend with
// their exact answers, rejection after five failures, the 24-hour window,
// the provider's lagging view of MIIT's outcome, and review. Its state lives
// in Redis; every validation and every resend is one atomic script, so that
// counts hold under any concurrency, across processes.
package miit
