package core

// The merge patch of the fault profile without the store, for the fuzz
// targets of core_test.
var (
	DecodePatch = decodePatch
	ApplyPatch  = applyPatch
)

// ClaimScriptHash is the SHA-1 of the script by which RunDue claims a
// batch, for a test to count the claims.
var ClaimScriptHash = claimScript.s.Hash()

// PendingScriptHash is the SHA-1 of the script by which Drain looks at
// what is left, for a test to count its looks.
var PendingScriptHash = pendingScript.s.Hash()

// PruneFunctions is what NewScript does to a script's source last.
var PruneFunctions = pruneFunctions

// ScriptHash is the SHA-1 of a script's text, by which Redis holds it.
func ScriptHash[A any](s *Script[A]) string { return s.s.Hash() }

// MarkLoaded has the scheduler take the script of hash as loaded, as if
// it had sent it before: a store that does not hold it answers NOSCRIPT.
func MarkLoaded(s *Scheduler, hash string) { s.loaded.Store(hash, true) }

// RunFormText is the text of a script's run form (runForm).
func RunFormText[A any](s *Script[A]) string {
	s.run.script()
	return s.run.text
}

// HoldScriptCall counts a script call on its way until release is called,
// as another goroutine's would be: the calls made meanwhile may go in
// batches (runBatched).
func HoldScriptCall() (release func()) {
	scriptsInFlight.Add(1)
	return func() { scriptsInFlight.Add(-1) }
}
