// Package archtest holds the test that keeps the package dependency rules
// of DESIGN.md true: which internal packages each package may import.
package archtest
