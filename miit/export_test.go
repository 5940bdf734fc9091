package miit

import "strconv"

// EncodeTextsInScripts has s's scripts encode the texts of the messages
// they send themselves (Service.scriptTexts).
func EncodeTextsInScripts(s *Service) { s.scriptTexts = true }

// CodeCandidates answers the codes the first sync of order id draws for
// its subject si (from 1), in order (planSync).
func CodeCandidates(s *Service, id string, si int) []string {
	out := make([]string, codeCandidates)
	for j := range out {
		out[j] = s.rand.Code("code", id, strconv.Itoa(si), "0", strconv.Itoa(j))
	}
	return out
}
