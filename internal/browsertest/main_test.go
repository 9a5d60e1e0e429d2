package browsertest

import "testing"

// One Chromium for the package; every test still has its own App and
// browser contexts.
func TestMain(m *testing.M) { Main(m) }
