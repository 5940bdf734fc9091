package core

// The merge patch of the fault profile without the store, for the fuzz
// targets of core_test.
var (
	DecodePatch = decodePatch
	ApplyPatch  = applyPatch
)
