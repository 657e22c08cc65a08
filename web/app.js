// ChatPLUG web chat page (being written).
