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
