package control

// CheckDir is checkDir, for testing the ownership check without a second
// user.
var CheckDir = checkDir

// Marshal is marshal: JSON as the API writes it.
var Marshal = marshal
