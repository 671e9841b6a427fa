--- Lazy iteration over paged results, shared by `core:each` and `emb:each`.
-- A page fetcher returns the page's items and the cursor of the next page (nil
-- on the last page); only one page is held at a time.
-- @module tray.pager

local errors = require "tray.errors"

local _M = {}

--- The cursor of the next page from a `pageInfo`, or nil when this page is the last.
-- @param info a `pageInfo` table (`hasNextPage`, `endCursor`), or anything else
-- @treturn ?string
function _M.next_cursor(info)
  if type(info) == "table" and info.hasNextPage == true and type(info.endCursor) == "string" then
    return info.endCursor
  end
  return nil
end

--- An iterator over the items of every page.
-- @tparam function fetch `fetch(cursor)` (nil for the first page) returns `items, next_cursor`;
-- it raises the error object when a page fails
-- @treturn function the iterator
-- @raise what `fetch` raises
function _M.iterate(fetch)
  local page, i, cursor, done = nil, 0, nil, false
  return function()
    while true do
      if page and i < #page then
        i = i + 1
        return page[i]
      end
      if done then return nil end
      local items, next_cursor = fetch(cursor)
      page, i = items or {}, 0
      if next_cursor then cursor = next_cursor else done = true end
    end
  end
end

--- Every item of an iterator, or `nil, err` when it raises.
-- @tparam function make_iterator returns the iterator (called inside the protected call)
-- @treturn ?table the items
-- @treturn ?table the error
function _M.collect(make_iterator)
  local out = {}
  local ok, err = pcall(function()
    for item in make_iterator() do out[#out + 1] = item end
  end)
  if ok then return out end
  if errors.is(err) then return nil, err end
  return errors.fail("internal", tostring(err))
end

return _M
