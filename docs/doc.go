// Package docs holds no code: it is the home of the guide (the Markdown
// pages in this folder) and of the tests that keep the guide and README.md
// true as the code changes.
//
//   - TestLinks: every relative link and image in README.md and docs/**.md
//     names a file or folder that exists, and every #anchor a heading of
//     the page it points to (GitHub's anchor rules).
//   - TestGoBlocks: every ```go block of the pages this package owns is
//     either a whole file (it starts with a package clause) that compiles
//     against this module and passes go vet, or is marked as a fragment by a first line
//     "// fragment" and is skipped.
//   - TestGettingStarted: the commands of getting-started.md run, in order,
//     in a temporary folder, and print what the page shows.
//   - TestCommands: commands.md is what each command's --help prints;
//     `go test ./docs -run Commands -update` regenerates it.
package docs
