--- The SDK version, defined here once (`tray.VERSION`, the `User-Agent`, the Makefile).
-- @internal tray.version
local VERSION = "0.1.0"
return VERSION
