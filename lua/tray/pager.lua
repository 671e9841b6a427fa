--- Lazy iteration over paged results, shared by `core:each` and `emb:each`.
-- A page fetcher returns the page's items and the cursor of the next page (nil
-- on the last page); only one page is held at a time.
-- @internal tray.pager

local errors = require "tray.errors"

local _M = {}

--- The cursor of the next page from a `pageInfo`, or nil when this page is the last.
-- A `pageInfo` that says there is a next page but gives no cursor is an error:
-- following it would start over (or stop early without saying so).
-- @param info a `pageInfo` table (`hasNextPage`, `endCursor`), or anything else
-- @treturn ?string the cursor
-- @treturn ?table a `decode` error when `hasNextPage` is true without a cursor
function _M.next_cursor(info)
  if type(info) ~= "table" or info.hasNextPage ~= true then return nil end
  local cursor = info.endCursor
  if type(cursor) ~= "string" or cursor == "" then
    return nil, errors.new("decode", "the server says there is a next page but gives no cursor (pageInfo.endCursor)")
  end
  return cursor
end

--- An iterator over the items of every page.
-- A server that answers a cursor it gave before (the same one twice, or any
-- cycle) would make the iteration endless: it stops with a `decode` error
-- instead. The check holds two cursors whatever the number of pages (Brent's
-- cycle detection: a cycle is found within twice its length).
-- @tparam function fetch `fetch(cursor)` (nil for the first page) returns
-- `items, next_cursor[, err]` (what `next_cursor` returns, as its last values);
-- it raises the error object when a page fails
-- @treturn function the iterator
-- @raise what `fetch` raises; the `decode` error of a repeated or missing cursor
function _M.iterate(fetch)
  local page, i, cursor, done = nil, 0, nil, false
  local mark, steps, span = nil, 0, 1 -- Brent: the cursor kept, steps since, steps before the next keep
  return function()
    while true do
      if page and i < #page then
        i = i + 1
        return page[i]
      end
      if done then return nil end
      local items, next_cursor, err = fetch(cursor)
      if err then
        done = true
        error(err, 0)
      end
      if next_cursor ~= nil and (next_cursor == cursor or next_cursor == mark) then
        done = true
        error(errors.new("decode", "the server gave the same page cursor twice: the pages never end"), 0)
      end
      if type(items) ~= "table" then items = {} end
      page, i = items, 0
      if next_cursor then
        cursor = next_cursor
        steps = steps + 1
        if steps == span then
          mark, steps, span = cursor, 0, span * 2
        end
      else
        done = true
      end
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
