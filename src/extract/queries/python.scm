; Python: what the extractor captures. Capture names say what a node is:
;   @function        functions and methods (async ones and nested ones included)
;   @type            classes
;   @error_handling  try / except / finally

(function_definition) @function

(class_definition) @type

(try_statement) @error_handling
